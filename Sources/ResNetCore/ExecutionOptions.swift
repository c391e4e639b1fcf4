/// How the layers run: choices that change memory and speed, never what is computed beyond
/// rounding. The owner of a model sets them (`ResNetModel.execution`); every layer reads them
/// from the `LayerBuffers` it is handed, so nothing about them is process-wide.
public struct ExecutionOptions: Sendable, Equatable {
    /// How 3×3 convolutions with padding 1 and stride 1 or 2 run (every other shape is lowered).
    public enum Convolutions: String, CaseIterable, Sendable {
        /// `DirectConvolution`: the CKernels loops for the best instruction set of this CPU.
        case direct
        /// `LoweredConvolution`: im2col and OpenBLAS GEMMs, the general fallback.
        case lowered

        /// Direct where the CPU has AVX2 or AVX-512; the portable C loops are slower than
        /// OpenBLAS, so without them, lowered.
        public static var fastest: Convolutions { DirectConvolution.bestPath == .portable ? .lowered : .direct }
    }

    public var convolutions: Convolutions
    /// Images per call of the fused BN → σ → conv layer's convolution (its activations for that
    /// many images are formed at a time).
    public var imagesPerFusedBlock: Int
    /// Precision of the normalised activations BN → σ (→ conv) saves for its backward: half
    /// precision halves the largest saved tensors.
    public var savedActivations: HalfPrecision.Storage

    public init(savedActivations: HalfPrecision.Storage = .half, convolutions: Convolutions = .fastest,
                imagesPerFusedBlock: Int = 8) {
        self.savedActivations = savedActivations
        self.convolutions = convolutions
        self.imagesPerFusedBlock = max(1, imagesPerFusedBlock)
    }
}
