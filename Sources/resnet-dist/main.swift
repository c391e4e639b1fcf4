print("resnet-dist")
