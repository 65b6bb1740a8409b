"""The stages of the chain, one module each; `python -m pipeline.<stage>` runs one."""
