import Foundation

/// The seed thesis's one-dimensional regression targets.
public enum RegressionFunction: String, Sendable, CaseIterable {
    /// f₁(x) = cos²(x)·sin(x²), thesis §5.1.
    case cosSquaredSinSquare
    /// f₂(x) = cos(x²)·cos(x)·sin(x²), thesis §6.3.
    case cosSquareCosSinSquare

    /// Evaluated in Double, so every rank computes the same value.
    public func callAsFunction(_ x: Double) -> Double {
        switch self {
        case .cosSquaredSinSquare:
            let c = cos(x)
            return c * c * sin(x * x)
        case .cosSquareCosSinSquare:
            return cos(x * x) * cos(x) * sin(x * x)
        }
    }
}

/// A one-dimensional regression set: inputs `x` and targets `y`.
public struct RegressionDataset: Sendable, Equatable {
    public let x: [Float]
    public let y: [Float]
    public var count: Int { x.count }

    public init(x: [Float], y: [Float]) {
        precondition(x.count == y.count, "x and y must have the same length")
        self.x = x
        self.y = y
    }

    /// Writes inputs and targets of `indices` (in that order) into the two buffers, each of at least
    /// `indices.count` floats (the trainer's N×1 input and target tensors). Inlinable, so that
    /// callers get it specialised for their index collection (unspecialised, the generic
    /// iteration's metadata look-ups cost more than the copying).
    @inlinable
    public func writeBatch<Indices: Collection<Int>>(
        indices: Indices, inputs: UnsafeMutableBufferPointer<Float>, targets: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(inputs.count >= indices.count && targets.count >= indices.count, "batch buffers too small")
        for (position, index) in indices.enumerated() {
            precondition(index >= 0 && index < count, "sample index \(index) out of range 0..<\(count)")
            inputs[position] = x[index]
            targets[position] = y[index]
        }
    }

    /// The first `n` points (all if `n >= count`).
    public func subset(first n: Int) -> RegressionDataset {
        let kept = max(0, min(n, count))
        if kept == count { return self }
        return RegressionDataset(x: Array(x[0 ..< kept]), y: Array(y[0 ..< kept]))
    }
}

/// The thesis's synthetic sets (§5.1.1, §6.3.1): `trainCount` points x ~ U[0, 2π] with targets
/// f(x) + N(0, noiseStd²), and `testCount` noise-free points from the same interval.
///
/// Everything is drawn from SplitMix64 streams derived from `seed` and computed in Double, so all
/// ranks build the same set. Training and test points come from separate streams.
///
/// ```swift
/// let (train, test) = makeRegressionData(.cosSquaredSinSquare, seed: 1)   // 2000 and 1500 points
/// ```
public func makeRegressionData(_ function: RegressionFunction, seed: UInt64,
                               trainCount: Int = 2000, testCount: Int = 1500,
                               noiseStd: Double = 1.0 / 500, interval: ClosedRange<Double> = 0 ... 2 * Double.pi)
    -> (train: RegressionDataset, test: RegressionDataset) {
    func sample(_ count: Int, stream: UInt64, noise: Double) -> RegressionDataset {
        var rng = SplitMix64(seed: seed, streams: 0x7265_6772, stream)
        var xs = [Float](), ys = [Float]()
        xs.reserveCapacity(count); ys.reserveCapacity(count)
        for _ in 0 ..< count {
            // Round x to Float first so the target is f of exactly the input the network sees.
            let drawn = interval.lowerBound + (interval.upperBound - interval.lowerBound) * rng.nextUnitDouble()
            let x = Double(min(max(Float(drawn), Float(interval.lowerBound)), Float(interval.upperBound)))
            var y = function(x)
            if noise > 0 { y += noise * rng.nextGaussian() }
            xs.append(Float(x)); ys.append(Float(y))
        }
        return RegressionDataset(x: xs, y: ys)
    }
    return (sample(trainCount, stream: 1, noise: noiseStd), sample(testCount, stream: 2, noise: 0))
}
