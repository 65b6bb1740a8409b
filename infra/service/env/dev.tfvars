# dev: real AWS.
instance_type = "t3.small"
allowed_cidrs = ["0.0.0.0/0"] # public API; narrow it per organisation
