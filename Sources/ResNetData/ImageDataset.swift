/// A labelled image dataset kept as bytes: `images` holds `count × channels × height × width`
/// pixels (sample-major, then CHW), `labels` one class byte (0–9) per sample.
///
/// Bytes are converted to Float32 one batch at a time with `writeBatch`, so Fashion-MNIST takes
/// 47 MB in memory instead of 188 MB.
///
/// ```swift
/// let (train, test) = try loadFashionMNIST()
/// var batch = [Float](repeating: 0, count: 256 * train.sampleSize)
/// let labels = batch.withUnsafeMutableBufferPointer {
///     train.writeBatch(indices: shard.indices, into: $0, normalization: .fashionMNIST)
/// }
/// ```
public struct ImageDataset: Sendable {
    public let channels: Int
    public let height: Int
    public let width: Int
    public let count: Int
    /// `count × channels × height × width` bytes.
    public let images: [UInt8]
    /// `count` class indices.
    public let labels: [UInt8]
    /// Number of classes the labels are drawn from.
    public static let classCount = 10

    /// Builds a dataset from bytes already in memory; the sizes must agree (a programming error
    /// otherwise — file loaders validate before calling this).
    public init(images: [UInt8], labels: [UInt8], channels: Int, height: Int, width: Int) {
        precondition(channels > 0 && height > 0 && width > 0, "image dimensions must be positive")
        precondition(images.count == labels.count * channels * height * width,
                     "images.count must equal labels.count × channels × height × width")
        self.images = images
        self.labels = labels
        self.channels = channels
        self.height = height
        self.width = width
        self.count = labels.count
    }

    /// Pixels per sample: `channels × height × width`.
    public var sampleSize: Int { channels * height * width }

    /// The shape of one sample, `[channels, height, width]`.
    public var sampleShape: [Int] { [channels, height, width] }

    /// The bytes of sample `index`, CHW.
    public func pixels(of index: Int) -> ArraySlice<UInt8> {
        images[index * sampleSize ..< (index + 1) * sampleSize]
    }

    /// The first `n` samples (all of them if `n >= count`): what `--subset N` uses.
    public func subset(first n: Int) -> ImageDataset {
        let kept = max(0, min(n, count))
        if kept == count { return self }  // no copy of the whole set
        return ImageDataset(images: Array(images[0 ..< kept * sampleSize]), labels: Array(labels[0 ..< kept]),
                            channels: channels, height: height, width: width)
    }

    /// How many samples carry each label, indexed by class.
    public func classCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: ImageDataset.classCount)
        for label in labels where Int(label) < counts.count { counts[Int(label)] += 1 }
        return counts
    }

    /// Per-channel mean and standard deviation of the pixels scaled to [0, 1].
    public func channelStatistics() -> ImageNormalization {
        var sum = [Double](repeating: 0, count: channels)
        var sumSquares = [Double](repeating: 0, count: channels)
        let plane = height * width
        images.withUnsafeBufferPointer { px in
            for sample in 0 ..< count {
                for c in 0 ..< channels {
                    var s: UInt64 = 0, ss: UInt64 = 0
                    let base = (sample * channels + c) * plane
                    for i in base ..< base + plane {
                        let v = UInt64(px[i]); s += v; ss += v * v
                    }
                    sum[c] += Double(s); sumSquares[c] += Double(ss)
                }
            }
        }
        let n = Double(max(count * plane, 1))
        let mean = sum.map { $0 / n / 255 }
        let std = zip(sumSquares, mean).map { ss, m in max((ss / n / 65025 - m * m).squareRoot(), 1e-6) }
        return ImageNormalization(mean: mean.map(Float.init), std: std.map(Float.init))
    }
}

/// Per-channel normalisation applied after scaling bytes to [0, 1]: `(x - mean[c]) / std[c]`.
public struct ImageNormalization: Sendable, Equatable {
    public var mean: [Float]
    public var std: [Float]

    public init(mean: [Float], std: [Float]) {
        precondition(mean.count == std.count && !mean.isEmpty, "mean and std need one value per channel")
        precondition(std.allSatisfy { $0 > 0 }, "std must be positive")
        self.mean = mean
        self.std = std
    }

    /// The usual Fashion-MNIST training-set statistics.
    public static let fashionMNIST = ImageNormalization(mean: [0.2860], std: [0.3530])
    /// The usual CIFAR-10 training-set statistics (R, G, B).
    public static let cifar10 = ImageNormalization(mean: [0.4914, 0.4822, 0.4465],
                                                   std: [0.2470, 0.2435, 0.2616])
}

/// The standard CIFAR augmentation: a random crop of the image zero-padded by `padding` pixels on
/// each side, then a horizontal flip with probability ½.
///
/// The random choice for a sample is drawn from (seed, epoch, sample index in the dataset) alone,
/// never from the batch position or the rank, so a run on any number of ranks sees the same images.
public struct ImageAugmentation: Sendable, Equatable {
    public var seed: UInt64
    public var epoch: Int
    public var padding: Int
    public var horizontalFlip: Bool

    public init(seed: UInt64, epoch: Int, padding: Int = 4, horizontalFlip: Bool = true) {
        precondition(padding >= 0, "padding must be non-negative")
        self.seed = seed
        self.epoch = epoch
        self.padding = padding
        self.horizontalFlip = horizontalFlip
    }

    /// The crop offset (`dy`, `dx` in −padding…padding) and flip chosen for sample `index`.
    public func transform(forSample index: Int) -> (dy: Int, dx: Int, flip: Bool) {
        var rng = SplitMix64(seed: seed, streams: 0x6175_676D, UInt64(bitPattern: Int64(epoch)),
                             UInt64(bitPattern: Int64(index)))
        let span = UInt64(2 * padding + 1)
        let dy = Int(rng.next(below: span)) - padding
        let dx = Int(rng.next(below: span)) - padding
        let flip = horizontalFlip && rng.next() >> 63 == 1
        return (dy, dx, flip)
    }
}

extension ImageDataset {
    /// Writes the samples `indices` (in that order) into `buffer` as Float32 NCHW scaled to [0, 1],
    /// optionally normalised per channel and augmented; returns their labels.
    ///
    /// `buffer` must hold at least `indices.count × sampleSize` floats; an empty `indices` writes
    /// nothing and returns `[]` (a rank with no samples in a step).
    public func writeBatch<Indices: Collection<Int>>(
        indices: Indices, into buffer: UnsafeMutableBufferPointer<Float>,
        normalization: ImageNormalization? = nil, augmentation: ImageAugmentation? = nil
    ) -> [Int] {
        precondition(buffer.count >= indices.count * sampleSize, "batch buffer too small")
        if let normalization { precondition(normalization.mean.count == channels, "normalisation has wrong channel count") }
        // (x/255 - mean)/std = x*scale + bias, one multiply-add per pixel.
        let scale = (0 ..< channels).map { c in 1 / (255 * (normalization?.std[c] ?? 1)) }
        let bias = (0 ..< channels).map { c in (0 - (normalization?.mean[c] ?? 0)) / (normalization?.std[c] ?? 1) }
        var labels = [Int]()
        labels.reserveCapacity(indices.count)
        images.withUnsafeBufferPointer { pixels in
            for (position, index) in indices.enumerated() {
                precondition(index >= 0 && index < count, "sample index \(index) out of range 0..<\(count)")
                labels.append(Int(self.labels[index]))
                let source = pixels.baseAddress! + index * sampleSize
                let target = buffer.baseAddress! + position * sampleSize
                let move = augmentation?.transform(forSample: index) ?? (0, 0, false)
                for c in 0 ..< channels {
                    let plane = c * height * width
                    if move == (0, 0, false) {
                        convertPlane(source + plane, target + plane, scale[c], bias[c])
                    } else {
                        shiftPlane(source + plane, target + plane, scale[c], bias[c], move)
                    }
                }
            }
        }
        return labels
    }

    /// Convenience for callers holding a `[Float]`: resizes `batch` to fit and fills it.
    public func writeBatch<Indices: Collection<Int>>(
        indices: Indices, into batch: inout [Float],
        normalization: ImageNormalization? = nil, augmentation: ImageAugmentation? = nil
    ) -> [Int] {
        let needed = indices.count * sampleSize
        if batch.count < needed { batch.append(contentsOf: repeatElement(0, count: needed - batch.count)) }
        return batch.withUnsafeMutableBufferPointer {
            writeBatch(indices: indices, into: $0, normalization: normalization, augmentation: augmentation)
        }
    }

    @inline(__always)
    private func convertPlane(_ source: UnsafePointer<UInt8>, _ target: UnsafeMutablePointer<Float>,
                              _ scale: Float, _ bias: Float) {
        for i in 0 ..< height * width { target[i] = Float(source[i]) * scale + bias }
    }

    /// Crop from the zero-padded image at offset (dy, dx), then optionally mirror.
    private func shiftPlane(_ source: UnsafePointer<UInt8>, _ target: UnsafeMutablePointer<Float>,
                            _ scale: Float, _ bias: Float, _ move: (dy: Int, dx: Int, flip: Bool)) {
        for y in 0 ..< height {
            let sy = y + move.dy
            let row = target + y * width
            guard sy >= 0 && sy < height else {
                for x in 0 ..< width { row[x] = bias }   // a padding row: pixel value 0
                continue
            }
            let sourceRow = source + sy * width
            for x in 0 ..< width {
                let sx = (move.flip ? width - 1 - x : x) + move.dx
                row[x] = sx >= 0 && sx < width ? Float(sourceRow[sx]) * scale + bias : bias
            }
        }
    }
}
