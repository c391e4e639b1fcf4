/// How the layers run: choices that change memory and speed, never what is computed beyond
/// rounding. The owner of a model sets them (`ResNetModel.execution`); every layer reads them
/// from the `LayerBuffers` it is handed, so nothing about them is process-wide.
public struct ExecutionOptions: Sendable, Equatable {
    /// Precision of the normalised activations BN → σ (→ conv) saves for its backward: half
    /// precision halves the largest saved tensors.
    public var savedActivations: HalfPrecision.Storage
    /// Images per shifted-copy GEMM block of a stride-1 "same" convolution.
    public var imagesPerShiftedBlock: Int
    /// Images whose lowered columns share one weight-gradient GEMM in the other convolutions.
    public var imagesPerGradientBlock: Int

    public init(savedActivations: HalfPrecision.Storage = .half, imagesPerShiftedBlock: Int = 4,
                imagesPerGradientBlock: Int = 4) {
        self.savedActivations = savedActivations
        self.imagesPerShiftedBlock = max(1, imagesPerShiftedBlock)
        self.imagesPerGradientBlock = max(1, imagesPerGradientBlock)
    }
}
