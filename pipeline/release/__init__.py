"""Release machinery: Terraform stacks, the container engine and wheelhouse, image tags,
deploying a release, probing a live endpoint, promotion and rollback."""
