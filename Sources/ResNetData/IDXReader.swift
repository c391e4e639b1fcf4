/// Reader for the IDX format of MNIST and Fashion-MNIST, gzip-compressed or plain.
///
/// An IDX file is a big-endian header — magic `0x0000TTNN` (T = element type, 0x08 for unsigned
/// bytes; N = number of dimensions), then N 32-bit sizes — followed by the elements. Images are
/// `0x00000803` (count × rows × columns), labels `0x00000801` (count).
///
/// Every size in the header is checked against the bytes actually present before anything is
/// allocated, so a corrupt header cannot ask for gigabytes.
public enum IDXReader {
    public static let imagesMagic: UInt32 = 0x0000_0803
    public static let labelsMagic: UInt32 = 0x0000_0801

    /// Reads an IDX image file: `count × height × width` bytes.
    public static func readImages(path: String) throws(DataError)
        -> (count: Int, height: Int, width: Int, pixels: [UInt8]) {
        try parseImages(DataFiles.readDecodedIDX(path, magic: imagesMagic), path: path)
    }

    /// Reads an IDX label file and checks every label is in 0–9.
    public static func readLabels(path: String) throws(DataError) -> [UInt8] {
        try parseLabels(DataFiles.readDecodedIDX(path, magic: labelsMagic), path: path)
    }

    /// Parses the (already decompressed) bytes of an image file. `path` is for messages only.
    public static func parseImages(_ bytes: [UInt8], path: String) throws(DataError)
        -> (count: Int, height: Int, width: Int, pixels: [UInt8]) {
        let dims = try parseHeader(bytes, path: path, magic: imagesMagic)
        return (dims[0], dims[1], dims[2], Array(bytes[(4 + 4 * 3)...]))
    }

    /// Parses the (already decompressed) bytes of a label file. `path` is for messages only.
    public static func parseLabels(_ bytes: [UInt8], path: String) throws(DataError) -> [UInt8] {
        _ = try parseHeader(bytes, path: path, magic: labelsMagic)
        let labels = Array(bytes[8...])
        if let bad = labels.firstIndex(where: { Int($0) >= ImageDataset.classCount }) {
            throw .labelOutOfRange(path: path, index: bad, label: labels[bad])
        }
        return labels
    }

    /// Validates magic and sizes against `bytes.count`; returns the dimensions.
    static func parseHeader(_ bytes: [UInt8], path: String, magic: UInt32) throws(DataError) -> [Int] {
        guard bytes.count >= 4 else {
            throw .truncated(path: path, expectedBytes: 4, actualBytes: bytes.count)
        }
        let found = readUInt32BE(bytes, 0)
        guard found == magic else { throw .badMagic(path: path, found: found, expected: magic) }
        let rank = Int(magic & 0xFF)
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw .truncated(path: path, expectedBytes: headerSize, actualBytes: bytes.count)
        }
        let dims = (0 ..< rank).map { Int(readUInt32BE(bytes, 4 + 4 * $0)) }
        guard dims.allSatisfy({ $0 > 0 }) else {
            throw .badDimensions(path: path, detail: "sizes \(dims) must all be positive")
        }
        // Each size is < 2^32, so the product of three fits in Int only if checked.
        var total = headerSize
        var elements = 1
        for d in dims {
            let (product, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow, product <= Int.max - headerSize else {
                throw .badDimensions(path: path, detail: "sizes \(dims) describe an impossibly large file")
            }
            elements = product
        }
        total += elements
        if bytes.count < total { throw .truncated(path: path, expectedBytes: total, actualBytes: bytes.count) }
        if bytes.count > total { throw .trailingBytes(path: path, expectedBytes: total, actualBytes: bytes.count) }
        return dims
    }
}

/// Loads one split (images + labels) of an IDX dataset such as Fashion-MNIST.
public func loadIDXDataset(imagesPath: String, labelsPath: String) throws(DataError) -> ImageDataset {
    let images = try IDXReader.readImages(path: imagesPath)
    let labels = try IDXReader.readLabels(path: labelsPath)
    guard images.count == labels.count else {
        throw .countMismatch(imagesPath: imagesPath, imageCount: images.count,
                             labelsPath: labelsPath, labelCount: labels.count)
    }
    return ImageDataset(images: images.pixels, labels: labels, channels: 1,
                        height: images.height, width: images.width)
}

/// Loads Fashion-MNIST (or MNIST, same file names) from `directory`: `train-images-idx3-ubyte`,
/// `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each either
/// gzip-compressed (`.gz`, preferred) or plain.
///
/// ```swift
/// let (train, test) = try loadFashionMNIST()        // 60 000 and 10 000 images, 1×28×28
/// ```
public func loadFashionMNIST(directory: String = defaultFashionMNISTDirectory) throws(DataError)
    -> (train: ImageDataset, test: ImageDataset) {
    func path(_ name: String) throws(DataError) -> String {
        try DataFiles.locate(name, in: directory, hint: fashionMNISTHint)
    }
    // Locate all four first, so a missing file is reported before a long read.
    let trainImages = try path("train-images-idx3-ubyte"), trainLabels = try path("train-labels-idx1-ubyte")
    let testImages = try path("t10k-images-idx3-ubyte"), testLabels = try path("t10k-labels-idx1-ubyte")
    let train = try loadIDXDataset(imagesPath: trainImages, labelsPath: trainLabels)
    let test = try loadIDXDataset(imagesPath: testImages, labelsPath: testLabels)
    guard train.sampleShape == test.sampleShape else {
        throw .shapeMismatch(trainPath: trainImages, trainShape: train.sampleShape,
                             testPath: testImages, testShape: test.sampleShape)
    }
    return (train, test)
}
