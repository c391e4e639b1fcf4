// SplitMix64 and FNV1a64 live in ResNetBase; users of ResNetCore see them here.
@_exported import ResNetBase
