# dev: real AWS.
# The registry expires only untagged images (untagged_image_days, default 14); release tags stay.
