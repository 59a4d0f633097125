package engine

import "berth/image"

func imageBootstrapQuiet() image.BootstrapOptions { return image.BootstrapOptions{} }
