import CKernels

/// Element-wise activations σ: sigmoid (the seed's default), ReLU and tanh.
public enum Activation: String, Codable, CaseIterable, Sendable {
    case sigmoid, relu, tanh
}

/// exp(x) for Float without a libm call, so activation loops vectorise.
/// Cody–Waite range reduction x = n·ln2 + r, |r| ≤ ln2/2, and a degree-6 polynomial
/// (Cephes expf coefficients) in fused multiply–adds; relative error ≈ 2 ulp on the clamped range
/// [−87.3, 88.3]. The fused multiply–adds are single instructions in the release build for a CPU
/// with FMA (launch/setup's default) and libm calls in a `generic` build.
@inline(__always)
public func fastExp(_ value: Float) -> Float {
    let x = min(max(value, -87.3), 88.3)
    let t = x * 1.442_695_04
    // Round to nearest by the 1.5·2²³ trick (|t| < 2²²); no fast-math, so it is not folded away.
    let n = (t + 12_582_912) - 12_582_912
    let r = x.addingProduct(-n, 0.693_359_375).addingProduct(n, 2.121_944_4e-4)
    // Horner's steps as fused multiply–adds (one rounding each; CKernels' vector exp the same).
    var p: Float = 1.987_569_15e-4
    p = Float(1.398_199_95e-3).addingProduct(p, r)
    p = Float(8.333_451_9e-3).addingProduct(p, r)
    p = Float(4.166_579_6e-2).addingProduct(p, r)
    p = Float(0.166_666_655).addingProduct(p, r)
    p = Float(0.500_000_01).addingProduct(p, r)
    p = r.addingProduct(p * r, r) + 1
    let bits = UInt32(bitPattern: Int32(n) &+ 127) << 23
    return p * Float(bitPattern: bits)
}

/// Applies σ element-wise; saves its output (all three derivatives are functions of it).
public final class ActivationLayer: Layer {
    public let activation: Activation
    private var savedOutput: Tensor?

    public init(_ activation: Activation) { self.activation = activation }

    public func freshCopy() -> Layer { ActivationLayer(activation) }

    public func forward(_ input: Tensor, training: Bool, buffers: LayerBuffers) throws -> Tensor {
        // A new tensor written in one pass (copying the input and then applying σ in place
        // would pass over it twice).
        var output = Tensor(uninitializedShape: input.shape)
        let count = output.count
        input.data.withUnsafeBufferPointer { x in
            output.data.withUnsafeMutableBufferPointer { y in
                guard count > 0 else { return }
                ActivationLayer.apply(activation, x.baseAddress!, y.baseAddress!, count)
            }
        }
        savedOutput = training ? output : nil
        return output
    }

    /// y = σ(x) element-wise (`y` may be `x`).
    static func apply(_ activation: Activation, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
        switch activation {
        case .sigmoid:
            // CKernels' loop on the widest vectors the CPU has; the same bits as
            // `1 / (1 + fastExp(-x[i]))` (see ck_activation.h).
            let status = ck_sigmoid(CK_PATH_AUTO, count, x, y)
            precondition(status == 0, "ck_sigmoid failed (\(status))")
        case .relu:
            for i in 0..<count { y[i] = max(x[i], 0) }
        case .tanh:
            for i in 0..<count { y[i] = 1 - 2 / (fastExp(2 * x[i]) + 1) }
        }
    }

    /// In place y = σ(y).
    static func apply(_ activation: Activation, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
        apply(activation, UnsafePointer(y), y, count)
    }

    /// dx = dy · σ'(x) element-wise, with σ' expressed through the saved output y (`dx` may be `dy`).
    static func applyDerivative(_ activation: Activation, output y: UnsafePointer<Float>, gradient dy: UnsafePointer<Float>,
                                inputGradient dx: UnsafeMutablePointer<Float>, _ count: Int) {
        switch activation {
        case .sigmoid:
            for i in 0..<count { dx[i] = dy[i] * (y[i] * (1 - y[i])) }
        case .relu:
            for i in 0..<count { dx[i] = y[i] > 0 ? dy[i] : 0 }
        case .tanh:
            for i in 0..<count { dx[i] = dy[i] * (1 - y[i] * y[i]) }
        }
    }

    /// In place dy = dy · σ'(x).
    static func applyDerivative(_ activation: Activation, output y: UnsafePointer<Float>,
                                gradient dy: UnsafeMutablePointer<Float>, _ count: Int) {
        applyDerivative(activation, output: y, gradient: UnsafePointer(dy), inputGradient: dy, count)
    }

    public func backward(_ outputGradient: consuming Tensor, buffers: LayerBuffers) throws -> Tensor {
        guard let output = savedOutput else { throw ResNetCoreError.backwardWithoutForward("activation") }
        guard output.count == outputGradient.count else {
            throw ResNetCoreError.shapeMismatch("activation gradient \(outputGradient.shape) vs \(output.shape)")
        }
        var inputGradient = Tensor(uninitializedShape: outputGradient.shape)
        let count = output.count
        output.data.withUnsafeBufferPointer { y in
            outputGradient.data.withUnsafeBufferPointer { dy in
                inputGradient.data.withUnsafeMutableBufferPointer { dx in
                    guard count > 0 else { return }
                    ActivationLayer.applyDerivative(activation, output: y.baseAddress!, gradient: dy.baseAddress!,
                                                    inputGradient: dx.baseAddress!, count)
                }
            }
        }
        savedOutput = nil
        return inputGradient
    }
}

/// [N, C, H, W] → [N, C]: the mean over each channel's plane. Saves the input shape.
public final class GlobalAveragePool: Layer {
    private var savedShape: [Int]?

    public init() {}
    public func freshCopy() -> Layer { GlobalAveragePool() }

    public func forward(_ input: Tensor, training: Bool, buffers: LayerBuffers) throws -> Tensor {
        guard input.rank == 4 else { throw ResNetCoreError.shapeMismatch("pool expects NCHW, got \(input.shape)") }
        let n = input.shape[0], c = input.shape[1], plane = input.shape[2] * input.shape[3]
        var output = Tensor(shape: [n, c])
        let scale = 1 / Float(plane)
        input.data.withUnsafeBufferPointer { x in
            for i in 0..<(n * c) {
                let p = x.baseAddress! + i * plane
                var s: Float = 0
                for j in 0..<plane { s += p[j] }
                output.data[i] = s * scale
            }
        }
        savedShape = training ? input.shape : nil
        return output
    }

    public func backward(_ outputGradient: consuming Tensor, buffers: LayerBuffers) throws -> Tensor {
        guard let shape = savedShape else { throw ResNetCoreError.backwardWithoutForward("pool") }
        let plane = shape[2] * shape[3], rows = shape[0] * shape[1]
        var inputGradient = Tensor(shape: shape)
        let scale = 1 / Float(plane)
        inputGradient.data.withUnsafeMutableBufferPointer { dx in
            for i in 0..<rows {
                let g = outputGradient.data[i] * scale
                let p = dx.baseAddress! + i * plane
                for j in 0..<plane { p[j] = g }
            }
        }
        savedShape = nil
        return inputGradient
    }
}

/// [N, …] → [N, features]: a reshape; the gradient takes the input shape back.
public final class Flatten: Layer {
    private var savedShape: [Int]?

    public init() {}
    public func freshCopy() -> Layer { Flatten() }

    public func forward(_ input: Tensor, training: Bool, buffers: LayerBuffers) throws -> Tensor {
        savedShape = input.shape
        return input.reshaped([input.batchSize, input.sampleCount])
    }

    public func backward(_ outputGradient: consuming Tensor, buffers: LayerBuffers) throws -> Tensor {
        guard let shape = savedShape else { throw ResNetCoreError.backwardWithoutForward("flatten") }
        return outputGradient.reshaped(shape)
    }
}
