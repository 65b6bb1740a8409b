# The local AWS emulator (moto_server). Everything emulator-specific lives here.
emulator            = true
max_retries         = 3     # low, but enough for the emulator dropping a keep-alive connection
detailed_monitoring = false # hangs the emulator
allowed_cidrs       = ["127.0.0.1/32"]
