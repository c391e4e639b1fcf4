// SplitMix64, deterministicPermutation and FNV1a64 live in ResNetBase; users of ResNetData see them here.
@_exported import ResNetBase
