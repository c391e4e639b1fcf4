/// Everything that can go wrong while loading a dataset.
///
/// Every case names the file or directory involved and, where there is one, the fix. Loaders either
/// return a complete dataset or throw one of these; they never return a partly loaded set.
///
/// ```swift
/// do { let (train, test) = try loadFashionMNIST(directory: dir) }
/// catch let error as DataError { print("error: \(error)"); exit(1) }
/// ```
public enum DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The data directory does not exist. `hint` says how to obtain the data.
    case missingDirectory(path: String, hint: String)
    /// A required file is absent (neither the `.gz` nor the plain variant exists).
    case missingFile(path: String, hint: String)
    /// The file exists but could not be read.
    case unreadableFile(path: String, reason: String)
    /// The IDX magic number is not the one expected for this kind of file.
    case badMagic(path: String, found: UInt32, expected: UInt32)
    /// The file is shorter than its header (or the format) requires.
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    /// The file is longer than its header declares.
    case trailingBytes(path: String, expectedBytes: Int, actualBytes: Int)
    /// Header dimensions that cannot describe a dataset (zero, or too large to be real).
    case badDimensions(path: String, detail: String)
    /// The image file and the label file disagree on the number of samples.
    case countMismatch(imagesPath: String, imageCount: Int, labelsPath: String, labelCount: Int)
    /// A label is not one of the classes 0–9.
    case labelOutOfRange(path: String, index: Int, label: UInt8)
    /// The gzip stream is damaged (bad header, bad deflate data, checksum or length mismatch, cut off).
    case corruptGzip(path: String, detail: String)
    /// A CIFAR-10 binary batch whose size is not a whole number of 3073-byte records.
    case cifarSizeNotMultiple(path: String, size: Int)
    /// The training and test files describe images of different shapes.
    case shapeMismatch(trainPath: String, trainShape: [Int], testPath: String, testShape: [Int])

    public var description: String {
        switch self {
        case let .missingDirectory(path, hint):
            return "data directory '\(path)' does not exist. \(hint)"
        case let .missingFile(path, hint):
            return "data file '\(path)' (or '\(path).gz') does not exist. \(hint)"
        case let .unreadableFile(path, reason):
            return "cannot read '\(path)': \(reason). Check its permissions, or point --data-dir elsewhere."
        case let .badMagic(path, found, expected):
            return "'\(path)' is not the expected IDX file: magic number 0x\(hex(found)), expected 0x\(hex(expected)). "
                + "The file is corrupt or of another kind; reinstall the dataset or fix --data-dir."
        case let .truncated(path, expected, actual):
            return "'\(path)' is truncated: \(expected) bytes required, \(actual) present. "
                + "Re-download or reinstall the dataset."
        case let .trailingBytes(path, expected, actual):
            return "'\(path)' is longer than its header says: \(expected) bytes expected, \(actual) present. "
                + "The file is corrupt; re-download or reinstall the dataset."
        case let .badDimensions(path, detail):
            return "'\(path)' has an invalid header: \(detail). The file is corrupt; reinstall the dataset."
        case let .countMismatch(imagesPath, imageCount, labelsPath, labelCount):
            return "'\(imagesPath)' holds \(imageCount) images but '\(labelsPath)' holds \(labelCount) labels; "
                + "the two files must come from the same dataset split."
        case let .labelOutOfRange(path, index, label):
            return "'\(path)': label \(label) of sample \(index) is outside 0–9. The file is corrupt; reinstall the dataset."
        case let .corruptGzip(path, detail):
            return "'\(path)' is not a valid gzip stream (\(detail)). Re-download or reinstall the dataset."
        case let .cifarSizeNotMultiple(path, size):
            return "'\(path)' has \(size) bytes, not a multiple of the 3073-byte CIFAR-10 record "
                + "(1 label byte + 3072 pixel bytes). Use the CIFAR-10 *binary* version (cifar-10-binary.tar.gz)."
        case let .shapeMismatch(trainPath, trainShape, testPath, testShape):
            return "'\(trainPath)' has images of shape \(trainShape) but '\(testPath)' has \(testShape); "
                + "training and test files must belong to the same dataset."
        }
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}
