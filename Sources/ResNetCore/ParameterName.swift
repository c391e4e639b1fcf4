/// Where a layer sits in the network, as typed parts. Its dotted form is the prefix of the layer's
/// tensor names in checkpoints: `groups.1.blocks.2.bn1.stage1`.
///
/// ```swift
/// let bn = LayerPath.group(1).block(2).named("bn1").stage(1)
/// bn.description                    // "groups.1.blocks.2.bn1.stage1"
/// bn.block                          // (group: 1, index: 2)
/// ```
public struct LayerPath: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public enum Part: Hashable, Sendable {
        /// A named layer or part of one ("stem", "projection", "conv1").
        case named(String)
        /// A residual group: `groups.<g>`.
        case group(Int)
        /// A residual block of the group before it: `blocks.<b>`.
        case block(Int)
        /// A Runge–Kutta stage's own copy (BatchNorm statistics): `stage<i>`.
        case stage(Int)
    }

    public private(set) var parts: [Part]

    public init(_ parts: [Part] = []) { self.parts = parts }
    public init(stringLiteral name: String) { parts = [.named(name)] }

    public static func named(_ name: String) -> LayerPath { LayerPath([.named(name)]) }
    public static func group(_ g: Int) -> LayerPath { LayerPath([.group(g)]) }

    public func named(_ name: String) -> LayerPath { LayerPath(parts + [.named(name)]) }
    public func block(_ b: Int) -> LayerPath { LayerPath(parts + [.block(b)]) }
    public func stage(_ i: Int) -> LayerPath { LayerPath(parts + [.stage(i)]) }

    /// The residual block this path lies in, if any.
    public var block: (group: Int, index: Int)? {
        for (part, next) in zip(parts, parts.dropFirst()) {
            if case .group(let g) = part, case .block(let b) = next { return (g, b) }
        }
        return nil
    }

    /// The same path in block `index` of its group (unchanged outside a block).
    public func movedToBlock(_ index: Int) -> LayerPath {
        LayerPath(parts.map { if case .block = $0 { return .block(index) } else { return $0 } })
    }

    /// The path of the first stage's copy: without its stage part.
    public var firstStage: LayerPath {
        LayerPath(parts.filter { if case .stage = $0 { return false } else { return true } })
    }

    public var description: String {
        parts.map { part -> String in
            switch part {
            case .named(let name): return name
            case .group(let g): return "groups.\(g)"
            case .block(let b): return "blocks.\(b)"
            case .stage(let i): return "stage\(i)"
            }
        }.joined(separator: ".")
    }
}

/// One tensor of a layer: its typed place and what it holds. `description` is the tensor's
/// name in checkpoints (`groups.0.blocks.1.conv2.weight`).
public struct ParameterName: Hashable, Sendable, CustomStringConvertible {
    public enum Tensor: String, Sendable {
        case weight, bias
        case runningMean = "running_mean"
        case runningVariance = "running_var"
    }

    public var layer: LayerPath
    public var tensor: Tensor

    public init(_ layer: LayerPath, _ tensor: Tensor) {
        self.layer = layer
        self.tensor = tensor
    }

    public var description: String { "\(layer).\(tensor.rawValue)" }
}
