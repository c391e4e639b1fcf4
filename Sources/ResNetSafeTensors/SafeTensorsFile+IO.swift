// Reading a safetensors file from disk and replacing one atomically (see FileIO).

extension SafeTensorsFile {
    /// Stages of `write(atomicallyTo:)` at which tests can inject a failure.
    typealias WriteStage = AtomicFile.Stage

    /// Reads and parses the file at `path`. Errors are `.inFile(path:_:)`.
    public static func read(path: String) throws(SafeTensorsError) -> SafeTensorsFile {
        let bytes: [UInt8]
        do {
            bytes = try RegularFile.bytes(at: path)
        } catch {
            throw .inFile(path: path, SafeTensorsError(error))
        }
        return try parse(bytes, source: path)
    }

    /// Writes `serialized()` to `path` atomically (`AtomicFile.write`): if anything fails, the
    /// previous file at `path` (if any) is untouched, no temporary file is left and the error
    /// (`.inFile(path:_:)`) says which step failed.
    public func write(atomicallyTo path: String) throws(SafeTensorsError) {
        try Self.write(tensors: tensors, metadata: metadata, atomicallyTo: path, failingAt: nil)
    }

    /// `write(atomicallyTo:)` with an optional injected failure, for tests.
    func write(atomicallyTo path: String, failingAt injected: WriteStage?) throws(SafeTensorsError) {
        try Self.write(tensors: tensors, metadata: metadata, atomicallyTo: path, failingAt: injected)
    }

    /// Writes the file of `tensors` and `metadata` (the bytes `serialized()` would give for
    /// them) atomically, each tensor's bytes straight from where they lie: no copy of the data
    /// is made, whatever its size.
    public static func write<T: SafeTensorContent>(tensors: [T], metadata: [String: String],
                                                   atomicallyTo path: String) throws(SafeTensorsError) {
        try write(tensors: tensors, metadata: metadata, atomicallyTo: path, failingAt: nil)
    }

    static func write<T: SafeTensorContent>(tensors: [T], metadata: [String: String], atomicallyTo path: String,
                                            failingAt injected: WriteStage?) throws(SafeTensorsError) {
        do {
            try validate(tensors)
        } catch {
            throw .inFile(path: path, error)
        }
        do {
            try AtomicFile.write(to: path, failingAt: injected) { sink in
                try emit(tensors: tensors, metadata: metadata) { try sink.append($0) }
            }
        } catch {
            throw .inFile(path: path, SafeTensorsError(error))
        }
    }
}

extension SafeTensorsError {
    /// A failed system call as a safetensors error.
    init(_ error: FileError) {
        self = .io(operation: error.operation, errno: error.errno, message: error.message)
    }
}
