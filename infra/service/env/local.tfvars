# The local AWS emulator (moto_server). Everything emulator-specific lives here.
emulator            = true
max_retries         = 3     # low, but enough for the emulator dropping a keep-alive connection
detailed_monitoring = false # hangs the emulator
allowed_cidrs       = ["127.0.0.1/32"]
instance_refresh    = false # the emulator does not implement StartInstanceRefresh (500, then a silent no-op)
# Scale-out mode is exercised by tests/integration/infra/test_scale_out.py with replicas = 3.
load_balancer_deletion_protection = false
