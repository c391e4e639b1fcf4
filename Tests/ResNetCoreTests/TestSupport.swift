import XCTest
@testable import ResNetCore

/// Flat buffers for testing single layers outside a model.
final class Harness {
    let layout = LayoutBuilder()
    var parameters: [Float] = []
    var gradients: [Float] = []
    var state: [Float] = []
    var reducer: BatchNormReducer?
    var execution = ExecutionOptions()

    /// Allocates the buffers after layers have registered their slots: parameters random in
    /// [−1, 1), state at its initial values (running mean 0, variance 1).
    func allocate(seed: UInt64 = 7) {
        var rng = SplitMix64(seed: seed)
        parameters = (0..<layout.parameterCount).map { _ in rng.nextUniform(bound: 1) }
        gradients = [Float](repeating: 0, count: layout.parameterCount)
        state = [Float](repeating: 0, count: layout.stateCount)
        for (slot, initializer) in zip(layout.stateSlots, layout.stateInitializers) {
            if case .constant(let c) = initializer { for i in slot.range { state[i] = c } }
        }
    }

    func with<R>(_ body: (LayerBuffers) throws -> R) rethrows -> R {
        try parameters.withUnsafeMutableBufferPointer { p in
            try gradients.withUnsafeMutableBufferPointer { g in
                try state.withUnsafeMutableBufferPointer { s in
                    let dummy = UnsafeMutablePointer<Float>(bitPattern: 16)!
                    return try body(LayerBuffers(parameters: p.baseAddress ?? dummy, gradients: g.baseAddress ?? dummy,
                                                 state: s.baseAddress ?? dummy, reducer: reducer,
                                                 execution: execution))
                }
            }
        }
    }
}

func randomTensor(_ shape: [Int], seed: UInt64, bound: Float = 1) -> Tensor {
    var rng = SplitMix64(seed: seed)
    return Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in rng.nextUniform(bound: bound) })
}

/// L = Σ r·y accumulated in Double so that the finite differences see only the Float forward's rounding.
func projectedLoss(_ y: Tensor, _ r: Tensor) -> Double {
    var s = 0.0
    for i in 0..<y.count { s += Double(y.data[i]) * Double(r.data[i]) }
    return s
}

/// Evenly spread sample of at most `limit` indices of 0..<count (keeps debug test time small).
func sampleIndices(_ count: Int, limit: Int = 40) -> [Int] {
    if count <= limit { return Array(0..<count) }
    return (0..<limit).map { $0 * count / limit }
}

/// Tolerance for Float32 central differences with ε = 1e-2 on O(1) inputs: the truncation error
/// is ε²/6·|L'''| ≈ 2e-5·|L'''| and the rounding error ≈ √n·ulp(y)·|r|/ε ≈ 1e-4 for the sizes
/// used here, so |analytic − numeric| ≤ 3e-3 + 3e-3·|numeric| leaves a safety factor of ≳10
/// while a wrong term in a backward (an O(1) relative error) still fails.
let fdEpsilon: Float = 1e-2
func fdTolerance(_ numeric: Double) -> Double { 3e-3 + 3e-3 * abs(numeric) }

struct GradientCheckResult {
    var maxInputError = 0.0
    var maxParameterError = 0.0
    var failures: [String] = []
}

/// Central-difference check of a layer sequence: input gradient and every registered parameter
/// (sampled). `forward` must run the layers in training mode.
func gradientCheck(_ harness: Harness, input: Tensor, seed: UInt64 = 99,
                   checkInput: Bool = true,
                   forward: (Tensor, LayerBuffers) throws -> Tensor,
                   backward: (Tensor, LayerBuffers) throws -> Tensor) throws -> GradientCheckResult {
    var result = GradientCheckResult()
    let y = try harness.with { try forward(input, $0) }
    let r = randomTensor(y.shape, seed: seed)
    for i in 0..<harness.gradients.count { harness.gradients[i] = 0 }
    let dx = try harness.with { try backward(r, $0) }
    func loss(_ x: Tensor) throws -> Double { projectedLoss(try harness.with { try forward(x, $0) }, r) }

    if checkInput {
        for i in sampleIndices(input.count) {
            var plus = input, minus = input
            plus.data[i] += fdEpsilon
            minus.data[i] -= fdEpsilon
            let numeric = (try loss(plus) - loss(minus)) / Double(2 * fdEpsilon)
            let error = abs(Double(dx.data[i]) - numeric)
            result.maxInputError = max(result.maxInputError, error)
            if error > fdTolerance(numeric) { result.failures.append("dx[\(i)] \(dx.data[i]) vs \(numeric)") }
        }
    }
    let analytic = harness.gradients
    for i in sampleIndices(harness.parameters.count, limit: 60) {
        let saved = harness.parameters[i]
        harness.parameters[i] = saved + fdEpsilon
        let lp = try loss(input)
        harness.parameters[i] = saved - fdEpsilon
        let lm = try loss(input)
        harness.parameters[i] = saved
        let numeric = (lp - lm) / Double(2 * fdEpsilon)
        let error = abs(Double(analytic[i]) - numeric)
        result.maxParameterError = max(result.maxParameterError, error)
        if error > fdTolerance(numeric) { result.failures.append("dp[\(i)] \(analytic[i]) vs \(numeric)") }
    }
    return result
}

/// Runs a sequence of layers forward/backward (training mode).
func runLayers(_ layers: [Layer], _ x: Tensor, _ b: LayerBuffers) throws -> Tensor {
    var t = x
    for l in layers { t = try l.forward(t, training: true, buffers: b) }
    return t
}

func runLayersBackward(_ layers: [Layer], _ dy: Tensor, _ b: LayerBuffers) throws -> Tensor {
    var g = dy
    for l in layers.reversed() { g = try l.backward(g, buffers: b) }
    return g
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var m: Float = 0
    for i in 0..<a.count { m = max(m, abs(a[i] - b[i])) }
    return m
}

/// A layer's training forward and backward on `x` and `dy`, twice from the same state: as
/// borrowed tensors, and as tensors the layer owns (copies made inside the harness's closures,
/// so that no capture holds a second reference). Gradients and running statistics of the
/// borrowed pass are returned; the owned pass leaves its own in `h`.
func borrowedAndOwnedPasses(_ layer: Layer, _ h: Harness, x: Tensor, dy: Tensor) throws
    -> (borrowed: (y: Tensor, dx: Tensor, gradients: [Float], state: [Float]),
        owned: (y: Tensor, dx: Tensor, forwardInPlace: Bool, backwardInPlace: Bool)) {
    func address(_ t: Tensor) -> UnsafeRawPointer { t.data.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress!) } }
    let state = h.state
    for i in h.gradients.indices { h.gradients[i] = 0 }
    let y = try h.with { try layer.forward(x, training: true, buffers: $0) }
    let dx = try h.with { try layer.backward(dy, buffers: $0) }
    let borrowed = (y: y, dx: dx, gradients: h.gradients, state: h.state)
    h.state = state
    for i in h.gradients.indices { h.gradients[i] = 0 }
    var xAddress: UnsafeRawPointer?, dyAddress: UnsafeRawPointer?
    let yOwned = try h.with { b in
        let t = Tensor(shape: x.shape, data: x.data.map { $0 })
        xAddress = address(t)
        return try layer.forward(owned: consume t, training: true, buffers: b)
    }
    let dxOwned = try h.with { b in
        let t = Tensor(shape: dy.shape, data: dy.data.map { $0 })
        dyAddress = address(t)
        return try layer.backward(consume t, buffers: b)
    }
    return (borrowed, (yOwned, dxOwned, address(yOwned) == xAddress, address(dxOwned) == dyAddress))
}
