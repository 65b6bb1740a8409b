# dev: real AWS.
keep_images = 10
