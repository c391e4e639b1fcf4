/// The building blocks every layer shares: named slots in the flat buffers, the raw buffer
/// pointers a layer works on, and the `Layer` protocol (paired forward/backward).

/// A named view into one of the model's flat buffers.
public struct ParameterSlot: Equatable, Hashable, Sendable {
    public var id: ParameterName
    public var offset: Int
    public var shape: [Int]
    /// The tensor's name in checkpoints.
    public var name: String { id.description }
    public var count: Int { shape.reduce(1, *) }
    public var range: Range<Int> { offset..<(offset + count) }

    public init(id: ParameterName, offset: Int, shape: [Int]) {
        self.id = id
        self.offset = offset
        self.shape = shape
    }
}

/// The bound b of a layer's uniform weight initialisation U(−b, b).
package enum WeightBound {
    /// √(6 / (fan_in + fan_out)): Xavier (Glorot).
    case xavier
    /// √(6 / fan_in): Kaiming (He) for ReLU.
    case kaiming
    /// 1/√fan_in: PyTorch's default for Linear and Conv2d (Kaiming uniform with a = √5).
    case fanIn

    package func bound(fanIn: Float, fanOut: Float) -> Float {
        switch self {
        case .xavier: return (6 / (fanIn + fanOut)).squareRoot()
        case .kaiming: return (6 / fanIn).squareRoot()
        case .fanIn: return 1 / fanIn.squareRoot()
        }
    }
}

/// How a slot is filled when a model is built from (spec, seed).
enum SlotInitializer: Equatable {
    /// Uniform in [−bound, bound): Xavier/Kaiming bounds for weights, 1/√fan_in for biases.
    case uniform(bound: Float)
    case constant(Float)
}

/// Hands out consecutive offsets in the parameter and state buffers, in the order layers are
/// created (= forward order), and remembers how each slot is initialised.
package final class LayoutBuilder {
    package init() {}

    private(set) var slots: [ParameterSlot] = []
    private(set) var stateSlots: [ParameterSlot] = []
    private(set) var initializers: [SlotInitializer] = []
    private(set) var stateInitializers: [SlotInitializer] = []
    package private(set) var parameterCount = 0
    package private(set) var stateCount = 0

    /// Adds a trainable tensor; returns its offset in the parameter buffer.
    func addParameter(_ id: ParameterName, shape: [Int], initializer: SlotInitializer) -> Int {
        LayoutBuilder.append(id, shape, initializer, to: &slots, &initializers, count: &parameterCount)
    }

    /// Adds a non-trainable tensor (BatchNorm statistics); returns its offset in the state buffer.
    func addState(_ id: ParameterName, shape: [Int], initializer: SlotInitializer) -> Int {
        LayoutBuilder.append(id, shape, initializer, to: &stateSlots, &stateInitializers, count: &stateCount)
    }

    private static func append(_ id: ParameterName, _ shape: [Int], _ initializer: SlotInitializer,
                               to slots: inout [ParameterSlot], _ initializers: inout [SlotInitializer],
                               count: inout Int) -> Int {
        let slot = ParameterSlot(id: id, offset: count, shape: shape)
        slots.append(slot)
        initializers.append(initializer)
        count += slot.count
        return slot.offset
    }
}

/// Sums values in place across all ranks (e.g. an MPI allreduce). The model hands it the
/// per-channel BatchNorm sums in forward and backward; `nil` means local BatchNorm.
public protocol BatchNormReducer: AnyObject {
    func sum(_ values: UnsafeMutableBufferPointer<Double>) throws
}

/// Base pointers of the three flat buffers, valid for the duration of one forward or backward.
public struct LayerBuffers {
    public let parameters: UnsafeMutablePointer<Float>
    public let gradients: UnsafeMutablePointer<Float>
    public let state: UnsafeMutablePointer<Float>
    public let reducer: BatchNormReducer?
    /// When set, training-mode BatchNorm folds its batch statistics into the running ones with
    /// this momentum instead of its own (1/k for the k-th batch gives their plain average).
    public let statisticsMomentum: Float?
    /// How the layers run (saved-activation precision, convolution blocking).
    public let execution: ExecutionOptions

    public init(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>,
                state: UnsafeMutablePointer<Float>, reducer: BatchNormReducer? = nil,
                statisticsMomentum: Float? = nil, execution: ExecutionOptions = ExecutionOptions()) {
        self.parameters = parameters
        self.gradients = gradients
        self.state = state
        self.reducer = reducer
        self.statisticsMomentum = statisticsMomentum
        self.execution = execution
    }
}

/// A layer: forward saves exactly what its backward needs; backward *accumulates* parameter
/// gradients into the flat gradient buffer and returns the input gradient. Backward owns the
/// output gradient it is given: a layer whose input and output have the same size may write the
/// input gradient into its storage (`model.backward` and the residual blocks pass the last
/// reference, so no copy is made), one activation-sized tensor fewer at the peak.
///
/// Parameters live at fixed offsets of the flat buffers, so a layer instance is only offsets
/// plus saved activations. `freshCopy()` gives another instance on the same parameters —
/// how a Runge–Kutta block evaluates the same F at several stages, each with its own saved state.
public protocol Layer: AnyObject {
    func forward(_ input: Tensor, training: Bool, buffers: LayerBuffers) throws -> Tensor
    /// Forward of an input no one else holds (the previous layer's output): a layer whose output
    /// has the input's size may write it into the input's storage. By default, `forward`.
    func forward(owned input: consuming Tensor, training: Bool, buffers: LayerBuffers) throws -> Tensor
    func backward(_ outputGradient: consuming Tensor, buffers: LayerBuffers) throws -> Tensor
    func freshCopy() -> Layer
}

extension Layer {
    public func forward(owned input: consuming Tensor, training: Bool, buffers: LayerBuffers) throws -> Tensor {
        try forward(input, training: training, buffers: buffers)
    }
}
