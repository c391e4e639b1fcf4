// ResNetData: everything resnet-dist trains and evaluates on, independent of the model and of MPI.
//
// - `loadFashionMNIST(directory:)`, `IDXReader`       Fashion-MNIST / MNIST IDX files, gzip or plain
// - `loadCIFAR10(directory:)`, `CIFAR10`              the CIFAR-10 binary version
// - `ImageDataset`                                    images as bytes; `writeBatch` → Float32 NCHW,
//   `ImageNormalization`, `ImageAugmentation`         with per-channel normalisation and seeded
//                                                     crop+flip augmentation
// - `makeRegressionData(_:seed:)`, `RegressionDataset` the thesis's synthetic f₁ (§5.1), f₂ (§6.3)
// - `GlobalBatchSharder`, `EpochPlan`, `Shard`        exact sharding of each global batch over ranks,
//                                                     `evaluationRange` for the test set
// - `DataError`                                       every load failure, with the path and the fix
// - `SplitMix64`, `deterministicPermutation`          the one source of randomness, same on all ranks
//                                                     (from ResNetBase, re-exported)
// - `Gzip`                                            zlib inflate/deflate with gzip framing
//
// A typical epoch on rank `rank` of `size`:
//
//     let (train, test) = try loadFashionMNIST(directory: dataDir)
//     let sharder = GlobalBatchSharder(datasetSize: train.count, globalBatchSize: 1024, seed: seed)
//     let plan = sharder.epoch(epoch)
//     for step in 0 ..< plan.stepsPerEpoch {
//         let shard = plan.shard(step: step, rank: rank, worldSize: size)
//         let labels = train.writeBatch(indices: shard.indices, into: &batch, normalization: .fashionMNIST)
//         // loss summed over the shard / Float(shard.globalBatchSize); allreduce gradients even
//         // when shard.indices is empty.
//     }
