/// Reader for the CIFAR-10 *binary* version: `data_batch_1.bin` … `data_batch_5.bin` and
/// `test_batch.bin`, each a sequence of 3073-byte records — 1 label byte, then 3072 pixel bytes
/// (1024 red, 1024 green, 1024 blue, rows of 32), which is exactly CHW.
public enum CIFAR10 {
    public static let channels = 3, height = 32, width = 32
    public static let recordSize = 1 + channels * height * width
    public static let trainFiles = (1 ... 5).map { "data_batch_\($0).bin" }
    public static let testFile = "test_batch.bin"

    /// Parses one batch file's bytes into labels and CHW pixels. `path` is for messages only.
    public static func parseBatch(_ bytes: [UInt8], path: String) throws(DataError)
        -> (labels: [UInt8], pixels: [UInt8]) {
        guard bytes.count % recordSize == 0 else { throw .cifarSizeNotMultiple(path: path, size: bytes.count) }
        guard !bytes.isEmpty else { throw .truncated(path: path, expectedBytes: recordSize, actualBytes: 0) }
        let records = bytes.count / recordSize
        var labels = [UInt8](repeating: 0, count: records)
        var pixels = [UInt8](repeating: 0, count: records * (recordSize - 1))
        for r in 0 ..< records {
            let label = bytes[r * recordSize]
            guard Int(label) < ImageDataset.classCount else {
                throw .labelOutOfRange(path: path, index: r, label: label)
            }
            labels[r] = label
            pixels.withUnsafeMutableBufferPointer { out in
                bytes.withUnsafeBufferPointer { input in
                    let from = input.baseAddress! + r * recordSize + 1
                    (out.baseAddress! + r * (recordSize - 1)).update(from: from, count: recordSize - 1)
                }
            }
        }
        return (labels, pixels)
    }

    /// Reads and concatenates the given batch files (plain or gzip-compressed).
    public static func loadBatches(paths: [String]) throws(DataError) -> ImageDataset {
        var labels = [UInt8](), pixels = [UInt8]()
        for path in paths {
            let batch = try parseBatch(DataFiles.readDecoded(path), path: path)
            labels += batch.labels
            pixels += batch.pixels
        }
        return ImageDataset(images: pixels, labels: labels, channels: channels, height: height, width: width)
    }
}

/// Loads CIFAR-10 (binary version) from `directory`: 50 000 training images from
/// `data_batch_1.bin`…`data_batch_5.bin` and 10 000 test images from `test_batch.bin`, 3×32×32.
public func loadCIFAR10(directory: String = defaultCIFAR10Directory) throws(DataError)
    -> (train: ImageDataset, test: ImageDataset) {
    var trainPaths = [String]()
    for name in CIFAR10.trainFiles { trainPaths.append(try DataFiles.locate(name, in: directory, hint: cifar10Hint)) }
    let testPath = try DataFiles.locate(CIFAR10.testFile, in: directory, hint: cifar10Hint)
    return (try CIFAR10.loadBatches(paths: trainPaths), try CIFAR10.loadBatches(paths: [testPath]))
}
