"""What one request to the service may hold: the service's one set of input limits.

The service refuses more (sentiment.app, with a 4xx saying which limit); the load balancers
in front of it size their request buffers from MAX_BODY_BYTES (pipeline.environments.load_balancer
and the EC2 instance's HAProxy in infra/modules/server/templates/user_data.sh.tftpl, which tests
hold to these numbers). Together they bound what one request costs: scoring time grows with
the characters a request holds after Unicode normalisation and with its tokens (docs/security.md
has the measurements).
"""

MAX_BODY_BYTES = 1_000_000
MAX_TEXT_CHARS = 10_000
MAX_BATCH = 256
# A 1 MB body holds a million characters and scoring time grows with them, so a batch is
# capped in characters in all, not only in texts and bytes.
MAX_TOTAL_CHARS = 100_000
# Texts are read after Unicode compatibility decomposition (NFKD), which can multiply their
# length (U+FDFA becomes 18 characters). Natural text grows at most threefold (a Hangul
# syllable becomes three letters, Vietnamese stacks two accents on a letter); more is refused.
MAX_NORMALIZED_CHARS = 3 * MAX_TEXT_CHARS
