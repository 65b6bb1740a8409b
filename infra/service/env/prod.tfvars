# prod: real AWS.
instance_type = "t3.medium"
# No ingress until you choose it: prod serves only over HTTPS, which only the load balancer
# gives. To open it: replicas >= 2, certificate_arn = "<ACM ARN>", and your clients' CIDRs here.
allowed_cidrs = []
