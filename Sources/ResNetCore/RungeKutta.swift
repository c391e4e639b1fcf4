/// Explicit Runge–Kutta residual updates driven by a Butcher tableau (thesis §3.7).
///
/// A residual block is one step of size h of Y' = F(Y) with the *same* F (same parameters)
/// at every stage:
///     kᵢ = F(Y + h·Σⱼ<ᵢ aᵢⱼ kⱼ),   Y ← Y + h·Σᵢ bᵢ kᵢ.
/// Euler (one stage) is the plain ResNet; midpoint (`rk2`) is the thesis's RK2.

/// The integrators a model spec can name. `"rk2"` decodes as `.midpoint`.
public enum Integrator: String, Codable, CaseIterable, Sendable {
    case euler, midpoint, heun, rk4

    /// Parses a user-facing name, accepting the alias `rk2` for midpoint.
    public init?(name: String) {
        let lowered = name.lowercased()
        if lowered == "rk2" { self = .midpoint } else if let v = Integrator(rawValue: lowered) { self = v } else { return nil }
    }

    public init(from decoder: Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let value = Integrator(name: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "unknown integrator \(name)"))
        }
        self = value
    }

    public var tableau: ButcherTableau {
        switch self {
        case .euler: return ButcherTableau(a: [[]], b: [1], order: 1)
        case .midpoint: return ButcherTableau(a: [[], [0.5]], b: [0, 1], order: 2)
        case .heun: return ButcherTableau(a: [[], [1]], b: [0.5, 0.5], order: 2)
        case .rk4: return ButcherTableau(a: [[], [0.5], [0, 0.5], [0, 0, 1]],
                                         b: [1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6], order: 4)
        }
    }
}

/// An explicit Butcher tableau: `a[i]` holds the coefficients aᵢⱼ for j < i.
public struct ButcherTableau: Equatable, Sendable {
    public let a: [[Double]]
    public let b: [Double]
    /// The classical order of accuracy p (one-step error O(h^(p+1))).
    public let order: Int
    public var stages: Int { b.count }

    public init(a: [[Double]], b: [Double], order: Int) {
        precondition(a.count == b.count && a.enumerated().allSatisfy { $0.element.count == $0.offset },
                     "explicit tableau needs a strictly lower-triangular a")
        self.a = a
        self.b = b
        self.order = order
    }

    /// One step Y ← Y + h·Σ bᵢ kᵢ. `stage(i, zᵢ)` evaluates F at stage i (its own saved state).
    /// Generic in the scalar so the same code runs in Float (models) and Double (accuracy tests).
    /// The last slope is needed by no later stage: the step's result is formed in its storage
    /// (no copy of Y, one pass fewer), with the same roundings as Y + h·bᵢ·kᵢ.
    public func step<S: BinaryFloatingPoint>(
        _ y: [S], h: S, stage: (Int, [S]) throws -> [S]
    ) rethrows -> [S] {
        var slopes: [[S]] = []
        slopes.reserveCapacity(stages)
        var partial: [S]?   // Y + h·Σⱼ<ᵢ bⱼ kⱼ once some bⱼ ≠ 0
        for i in 0..<stages {
            var z: [S]?   // nil while it is still Y
            for (j, aij) in a[i].enumerated() where aij != 0 {
                ButcherTableau.add(&z, to: y, h * S(aij), slopes[j])
            }
            var k = try stage(i, z ?? y)
            precondition(k.count == y.count, "F must preserve the state shape")
            if i == stages - 1 {
                if b[i] == 0 { return partial ?? y }
                ButcherTableau.scaleAndAdd(&k, h * S(b[i]), partial ?? y)
                return k
            }
            if b[i] != 0 { ButcherTableau.add(&partial, to: y, h * S(b[i]), k) }
            slopes.append(k)
        }
        return partial ?? y   // not reached: every tableau has a last stage
    }

    /// The backward of `step`: given dL/dY_out, returns dL/dY_in. `stageBackward(i, dkᵢ)` runs
    /// F's backward at stage i (accumulating parameter gradients) and returns dL/dzᵢ.
    /// Stages are visited in reverse: dkᵢ is complete once every later stage has reported; it is
    /// handed over (`consuming`), so F's backward may turn it into dL/dzᵢ in place.
    /// Slope gradients exist only while needed, and dL/dY_in is summed into the last stage's
    /// dL/dz (the same sums, in the same order, as dY + Σ dzᵢ).
    public func stepBackward<S: BinaryFloatingPoint>(
        _ outputGradient: [S], h: S, stageBackward: (Int, consuming [S]) throws -> [S]
    ) rethrows -> [S] {
        var slopeGradients: [[S]?] = (0..<stages).map { i in
            b[i] != 0 ? ButcherTableau.scaled(outputGradient, h * S(b[i])) : nil
        }
        var inputGradient: [S]?
        for i in stride(from: stages - 1, through: 0, by: -1) {
            let dk = slopeGradients[i] ?? [S](repeating: 0, count: outputGradient.count)
            slopeGradients[i] = nil
            var dz = try stageBackward(i, consume dk)
            for (j, aij) in a[i].enumerated() where aij != 0 {
                if slopeGradients[j] == nil {
                    slopeGradients[j] = ButcherTableau.scaled(dz, h * S(aij))
                } else {
                    ButcherTableau.accumulate(&slopeGradients[j]!, h * S(aij), dz)
                }
            }
            if inputGradient == nil {
                ButcherTableau.accumulate(&dz, 1, outputGradient)
                inputGradient = dz
            } else {
                ButcherTableau.accumulate(&inputGradient!, 1, dz)
            }
        }
        return inputGradient ?? outputGradient
    }

    /// sum ← (sum ?? y) + α·x: the first term is written in one pass into a new array (a copy
    /// of y and then an update in place would be two), later ones in place.
    @inline(__always)
    static func add<S: BinaryFloatingPoint>(_ sum: inout [S]?, to y: [S], _ alpha: S, _ x: [S]) {
        if sum == nil {
            sum = adding(y, alpha, x)
        } else {
            accumulate(&sum!, alpha, x)
        }
    }

    /// alpha·x element-wise, in a new array (`map` appended element by element here: 2 % of
    /// the Fashion-MNIST training step).
    @inline(__always)
    static func scaled<S: BinaryFloatingPoint>(_ x: [S], _ alpha: S) -> [S] {
        let count = x.count
        return [S](unsafeUninitializedCapacity: count) { out, initialized in
            x.withUnsafeBufferPointer { xp in
                for e in 0..<count { out[e] = alpha * xp[e] }
            }
            initialized = count
        }
    }

    /// y + alpha·x element-wise, in a new array.
    @inline(__always)
    static func adding<S: BinaryFloatingPoint>(_ y: [S], _ alpha: S, _ x: [S]) -> [S] {
        let count = y.count
        return [S](unsafeUninitializedCapacity: count) { out, initialized in
            y.withUnsafeBufferPointer { yp in
                x.withUnsafeBufferPointer { xp in
                    for e in 0..<count { out[e] = yp[e] + alpha * xp[e] }
                }
            }
            initialized = count
        }
    }

    /// y ← α·y + x (elementwise), rounded as x + α·y.
    @inline(__always)
    static func scaleAndAdd<S: BinaryFloatingPoint>(_ y: inout [S], _ alpha: S, _ x: [S]) {
        let count = y.count
        y.withUnsafeMutableBufferPointer { yp in
            x.withUnsafeBufferPointer { xp in
                for e in 0..<count { yp[e] = xp[e] + alpha * yp[e] }
            }
        }
    }

    @inline(__always)
    static func accumulate<S: BinaryFloatingPoint>(_ y: inout [S], _ alpha: S, _ x: [S]) {
        let count = y.count
        y.withUnsafeMutableBufferPointer { yp in
            x.withUnsafeBufferPointer { xp in
                for e in 0..<count { yp[e] += alpha * xp[e] }
            }
        }
    }
}
