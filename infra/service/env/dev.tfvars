# dev: real AWS.
instance_type = "t3.small"
# No ingress until you choose it. One server speaks plain HTTP, so name your networks here
# (e.g. ["203.0.113.0/24"]); the whole internet (0.0.0.0/0) is refused unless the load balancer
# serves HTTPS: replicas >= 2 and certificate_arn = "<ACM ARN>".
allowed_cidrs = []
