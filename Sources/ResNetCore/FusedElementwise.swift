import CKernels

/// Swift's face of CKernels' fused element-wise passes (ck_normact.h), used by `NormAct`,
/// `NormActConv` and `BatchNorm`'s statistics. Each gives the bits of the Swift loops it replaced
/// (normalise, keep x̂, γ·x̂ + β, σ; σ′ with BatchNorm's backward sums; BatchNorm's input gradient;
/// per-channel Σx and Σx²), on the widest vectors the CPU has; `FusedElementwiseTests` holds them
/// to those loops on every path.
enum FusedElementwise {
    /// Where a pass reads or writes x̂ for one image: Float, or half-precision bits.
    enum Normalized {
        case single(UnsafeMutablePointer<Float>)
        case half(UnsafeMutablePointer<UInt16>)

        var single: UnsafeMutablePointer<Float>? { if case .single(let p) = self { p } else { nil } }
        var half: UnsafeMutablePointer<UInt16>? { if case .half(let p) = self { p } else { nil } }
    }

    /// One image: x̂ = (x − mean)·(1/σ) per channel, kept in `keep` when given, and
    /// a = σ(γ·x̂ + β) into `activated`.
    static func normalizeAndActivate(_ x: UnsafePointer<Float>, channels: Int, plane: Int, mean: [Float], inverseStd: [Float],
                                     norm: BatchNorm, activation: Activation, buffers: LayerBuffers,
                                     keep: Normalized?, into activated: UnsafeMutablePointer<Float>) {
        normAct(x, nil, mean: mean, inverseStd: inverseStd, channels: channels, plane: plane, norm: norm,
                activation: activation, buffers: buffers, keep: keep, into: activated)
    }

    /// One image: a = σ(γ·x̂ + β) again from the kept x̂ (backward's recomputation).
    static func activate(_ xhat: Normalized, channels: Int, plane: Int, norm: BatchNorm, activation: Activation,
                         buffers: LayerBuffers, into activated: UnsafeMutablePointer<Float>) {
        normAct(xhat.single.map { UnsafePointer($0) }, xhat.half.map { UnsafePointer($0) }, mean: nil, inverseStd: nil,
                channels: channels, plane: plane, norm: norm, activation: activation, buffers: buffers, keep: nil,
                into: activated)
    }

    /// ck_norm_act with `norm`'s γ and β: from Float input (normalised when `mean` is given) or half x̂.
    private static func normAct(_ x: UnsafePointer<Float>?, _ xHalf: UnsafePointer<UInt16>?, mean: [Float]?,
                                inverseStd: [Float]?, channels: Int, plane: Int, norm: BatchNorm, activation: Activation,
                                buffers: LayerBuffers, keep: Normalized?, into activated: UnsafeMutablePointer<Float>) {
        let status = ck_norm_act(CK_PATH_AUTO, activation.cValue, channels, plane, x, xHalf, mean, inverseStd,
                                 buffers.parameters + norm.weightOffset, buffers.parameters + norm.biasOffset,
                                 keep?.single, keep?.half, activated)
        precondition(status == 0, "ck_norm_act failed (\(status))")
    }

    /// One image: dz = da·σ′ (through σ's output `activated`; `dz` may be `da`), and per channel
    /// Σdz, Σdz·x̂ added to `sums` (2·channels).
    static func activationBackward(activated: UnsafePointer<Float>, gradient da: UnsafePointer<Float>,
                                   into dz: UnsafeMutablePointer<Float>, xhat: Normalized, channels: Int, plane: Int,
                                   activation: Activation, sums: inout [Double]) {
        let status = ck_act_backward_sums(CK_PATH_AUTO, activation.cValue, channels, plane, activated, da, dz,
                                          xhat.single, xhat.half, &sums)
        precondition(status == 0, "ck_act_backward_sums failed (\(status))")
    }

    /// One image, in place: dz becomes γ/σ · (dz − mean(dz) − x̂·mean(dz·x̂)); `coefficients`
    /// holds (γ/σ, mean dz, mean dz·x̂) per channel, flat.
    static func inputGradient(_ dz: UnsafeMutablePointer<Float>, xhat: Normalized, coefficients: [Float],
                              channels: Int, plane: Int) {
        let status = ck_bn_input_gradient(CK_PATH_AUTO, channels, plane, dz, xhat.single, xhat.half, coefficients)
        precondition(status == 0, "ck_bn_input_gradient failed (\(status))")
    }

    /// Adds one image's per-channel Σx and Σx² to `sums` (2·channels).
    static func channelSums(_ x: UnsafePointer<Float>, channels: Int, plane: Int, into sums: inout [Double]) {
        let status = ck_channel_sums(CK_PATH_AUTO, channels, plane, x, &sums)
        precondition(status == 0, "ck_channel_sums failed (\(status))")
    }
}

extension Activation {
    var cValue: ck_activation {
        switch self {
        case .sigmoid: CK_ACT_SIGMOID
        case .relu: CK_ACT_RELU
        case .tanh: CK_ACT_TANH
        }
    }
}
