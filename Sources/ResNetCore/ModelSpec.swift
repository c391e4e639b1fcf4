/// Everything needed to build a model deterministically (together with a seed): what ranks
/// agree on before training and what checkpoints record.
///
/// ```swift
/// let spec = ModelSpec.fashionMNIST(blocks: [2, 2])          // shallow level
/// let model = ResNetModel(spec: spec, seed: 42)
/// let deep = ModelSpec.mlp(blocks: 3, h: 0.5, integrator: .midpoint)
/// ```
public struct ModelSpec: Codable, Equatable, Hashable, Sendable {
    public enum Kind: String, Codable, Sendable { case mlp, cnn }

    /// How the weights of Linear and Conv2d layers are drawn (biases: U(±1/√fan_in) always).
    public enum Initialization: String, Codable, CaseIterable, Sendable {
        /// Xavier (Glorot) uniform for sigmoid and tanh, Kaiming (He) uniform for ReLU.
        case scaled
        /// PyTorch's default for Linear and Conv2d: U(±1/√fan_in).
        case pytorch
    }

    /// How the CNN turns its last feature maps into class scores.
    public enum Head: String, Codable, CaseIterable, Sendable {
        /// Flatten C×H×W and one Linear(C·H·W → outputs).
        case flatten
        /// Global average pool over each channel's plane, then Linear(C → outputs).
        case pool
    }

    public var kind: Kind
    /// Per-sample input shape: [features] for the MLP, [C, H, W] for the CNN.
    public var inputShape: [Int]
    /// Output features (regression) or classes.
    public var outputs: Int
    /// MLP: [width] (one residual group). CNN: channels of each residual group.
    public var widths: [Int]
    /// Residual blocks in each group (same count as `widths`).
    public var blocks: [Int]
    /// Step size of every residual update.
    public var h: Double
    public var integrator: Integrator
    public var activation: Activation
    /// CNN only: an input layer (conv3×3 from the image channels to the first group's channels,
    /// BatchNorm, σ) before the first group's projection — the thesis's "one input layer".
    public var inputLayer: Bool
    /// CNN only: the output layer's form.
    public var head: Head
    public var initialization: Initialization

    /// The weight bound rule every Linear and Conv2d of the model uses.
    var weightBound: WeightBound {
        switch initialization {
        case .pytorch: return .fanIn
        case .scaled: return activation == .relu ? .kaiming : .xavier
        }
    }

    public init(kind: Kind, inputShape: [Int], outputs: Int, widths: [Int], blocks: [Int],
                h: Double, integrator: Integrator = .euler, activation: Activation = .sigmoid,
                inputLayer: Bool = false, head: Head = .pool, initialization: Initialization = .scaled) {
        self.kind = kind
        self.inputShape = inputShape
        self.outputs = outputs
        self.widths = widths
        self.blocks = blocks
        self.h = h
        self.integrator = integrator
        self.activation = activation
        self.inputLayer = inputLayer
        self.head = head
        self.initialization = initialization
    }

    private enum CodingKeys: String, CodingKey {
        case kind, inputShape, outputs, widths, blocks, h, integrator, activation, inputLayer, head, initialization
    }

    /// Specs written before `inputLayer`, `head` and `initialization` existed describe the pooled
    /// CNN without an input layer, initialised by the scaled rule, and read back as such.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(kind: try c.decode(Kind.self, forKey: .kind), inputShape: try c.decode([Int].self, forKey: .inputShape),
                  outputs: try c.decode(Int.self, forKey: .outputs), widths: try c.decode([Int].self, forKey: .widths),
                  blocks: try c.decode([Int].self, forKey: .blocks), h: try c.decode(Double.self, forKey: .h),
                  integrator: try c.decode(Integrator.self, forKey: .integrator),
                  activation: try c.decode(Activation.self, forKey: .activation),
                  inputLayer: try c.decodeIfPresent(Bool.self, forKey: .inputLayer) ?? false,
                  head: try c.decodeIfPresent(Head.self, forKey: .head) ?? .pool,
                  initialization: try c.decodeIfPresent(Initialization.self, forKey: .initialization) ?? .scaled)
    }

    /// The thesis §5.1 regression MLP: Linear(in→width), blocks, Linear(width→out).
    public static func mlp(inputs: Int = 1, outputs: Int = 1, width: Int = 32, blocks: Int = 2,
                           h: Double = 1, integrator: Integrator = .euler,
                           activation: Activation = .sigmoid, initialization: Initialization = .scaled) -> ModelSpec {
        ModelSpec(kind: .mlp, inputShape: [inputs], outputs: outputs, widths: [width], blocks: [blocks],
                  h: h, integrator: integrator, activation: activation, initialization: initialization)
    }

    /// Thesis §5.2: an input layer, groups of 16 and 32 channels on 1×28×28, 10 classes.
    public static func fashionMNIST(blocks: [Int] = [2, 2], h: Double = 1, integrator: Integrator = .euler,
                                    activation: Activation = .sigmoid, inputLayer: Bool = true,
                                    head: Head = .flatten, initialization: Initialization = .scaled) -> ModelSpec {
        ModelSpec(kind: .cnn, inputShape: [1, 28, 28], outputs: 10, widths: [16, 32], blocks: blocks,
                  h: h, integrator: integrator, activation: activation, inputLayer: inputLayer, head: head,
                  initialization: initialization)
    }

    /// Thesis §5.3: an input layer, groups of 16, 32 and 64 channels on 3×32×32, 10 classes.
    public static func cifar10(blocks: [Int] = [2, 2, 2], h: Double = 1, integrator: Integrator = .euler,
                               activation: Activation = .sigmoid, inputLayer: Bool = true,
                               head: Head = .flatten, initialization: Initialization = .scaled) -> ModelSpec {
        ModelSpec(kind: .cnn, inputShape: [3, 32, 32], outputs: 10, widths: [16, 32, 64], blocks: blocks,
                  h: h, integrator: integrator, activation: activation, inputLayer: inputLayer, head: head,
                  initialization: initialization)
    }

    /// Throws when the spec cannot describe a model.
    public func validate() throws {
        guard widths.count == blocks.count, !widths.isEmpty else {
            throw ResNetCoreError.invalidSpec("widths \(widths) and blocks \(blocks) must be non-empty and equal length")
        }
        guard widths.allSatisfy({ $0 > 0 }), blocks.allSatisfy({ $0 >= 0 }), outputs > 0 else {
            throw ResNetCoreError.invalidSpec("widths, outputs must be positive and blocks non-negative")
        }
        guard h.isFinite, h > 0 else { throw ResNetCoreError.invalidSpec("h must be positive, got \(h)") }
        switch kind {
        case .mlp:
            guard inputShape.count == 1, inputShape[0] > 0, widths.count == 1 else {
                throw ResNetCoreError.invalidSpec("MLP needs inputShape [features] and one group")
            }
        case .cnn:
            guard inputShape.count == 3, inputShape.allSatisfy({ $0 > 0 }) else {
                throw ResNetCoreError.invalidSpec("CNN needs inputShape [C, H, W]")
            }
        }
    }
}
