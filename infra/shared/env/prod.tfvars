# prod: real AWS.
keep_images = 50
