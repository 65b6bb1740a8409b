# qa: real AWS.
instance_type = "t3.small"
# No ingress until you choose it: qa serves only over HTTPS, which only the load balancer
# gives. To open it: replicas >= 2, certificate_arn = "<ACM ARN>", and your testers' CIDRs here.
allowed_cidrs = []
