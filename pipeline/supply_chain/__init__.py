"""The supply chain's signatures and bills of materials: signing model versions, keys, SBOMs."""
