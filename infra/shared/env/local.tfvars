# The local AWS emulator (moto_server). Everything emulator-specific lives here.
emulator                   = true
max_retries                = 3     # low, but enough for the emulator dropping a keep-alive connection
enable_event_notifications = false # the emulator never reads it back
force_destroy              = true
require_tls                = false # the emulator speaks plain HTTP
