# qa: real AWS.
keep_images = 10
