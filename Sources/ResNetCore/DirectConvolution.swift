import CKernels

/// Direct 3×3 convolutions (padding 1, stride 1 or 2) on NCHW batches without BLAS: the
/// `CKernels` loops, compiled for AVX-512, AVX2 + FMA and portable C in one binary. The best
/// path this CPU supports is chosen from CPUID when the value is made (`OPENBLAS_CORETYPE` plays
/// no part); tests and benchmarks may name one explicitly.
///
/// Semantics are `Conv2d`'s with kernel 3, padding 1: weights [out, in, 3, 3], PyTorch
/// cross-correlation, output plane ((h − 1) / stride + 1) × ((w − 1) / stride + 1). The
/// gradients of weights and bias are *accumulated* (+=), as `Layer.backward` does.
///
/// ```swift
/// let conv = DirectConvolution(inputChannels: 16, outputChannels: 16)
/// conv.path                      // .avx512 on a CPU with AVX-512
/// conv.forward(x, batch: 256, height: 28, width: 28, weights: w, bias: b, into: y)
/// ```
///
/// For a `Conv2d` with kernel 3, padding 1 and stride 1 or 2: weights are
/// `buffers.parameters + weightOffset`, the bias `+ biasOffset`; `Layer.backward` maps to one
/// `backward` call (gradients at `buffers.gradients + …`, `inputGradient` nil when the layer
/// computes none). Each call processes its images one at a time (one image's planes stay in
/// cache); calls on a few images at a time cost a few per cent more than one call on the batch
/// (per-call packing and scratch, no prefetch across calls). Calls are reentrant: no state is
/// kept between them.
public struct DirectConvolution: Sendable, Equatable {
    /// An instruction-set path of the kernels.
    public enum Path: String, CaseIterable, Sendable {
        case avx512, avx2, portable

        var cValue: ck_path {
            switch self {
            case .avx512: return CK_PATH_AVX512
            case .avx2: return CK_PATH_AVX2
            case .portable: return CK_PATH_PORTABLE
            }
        }

        /// Whether this CPU (and OS) can run the path.
        public var isSupported: Bool { ck_path_supported(cValue) != 0 }
    }

    /// How `forward` and the input gradient write their output.
    public enum OutputWrites: String, CaseIterable, Sendable {
        /// Around the caches when a call's output reaches 4 MB (it cannot stay cached), else
        /// ordinary stores.
        case automatic
        /// Around the caches: the output is read long after (e.g. a batch written block by
        /// block); saves reading every line in before writing it, about a tenth of a forward pass.
        case streaming
        /// Ordinary stores: the output is read soon, while still in cache.
        case cached

        var cValue: ck_output {
            switch self {
            case .automatic: return CK_OUTPUT_AUTO
            case .streaming: return CK_OUTPUT_STREAM
            case .cached: return CK_OUTPUT_CACHE
            }
        }
    }

    /// The best path of this CPU (AVX-512, else AVX2, else portable).
    public static var bestPath: Path {
        Path.allCases.first { $0.isSupported } ?? .portable
    }

    /// Every path this CPU can run, fastest first.
    public static var supportedPaths: [Path] { Path.allCases.filter(\.isSupported) }

    public let inputChannels: Int
    public let outputChannels: Int
    public let stride: Int
    /// The instruction-set path every call runs.
    public let path: Path
    /// How outputs are written (the numbers are the same either way).
    public var outputWrites: OutputWrites

    /// `path` nil picks `bestPath`; a path this CPU does not support is a programming error.
    public init(inputChannels: Int, outputChannels: Int, stride: Int = 1, path: Path? = nil,
                outputWrites: OutputWrites = .automatic) {
        precondition(inputChannels > 0 && outputChannels > 0, "DirectConvolution needs channels")
        precondition(stride == 1 || stride == 2, "DirectConvolution supports stride 1 and 2")
        let chosen = path ?? Self.bestPath
        precondition(chosen.isSupported, "DirectConvolution path \(chosen) is not supported by this CPU")
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.stride = stride
        self.path = chosen
        self.outputWrites = outputWrites
    }

    /// The output plane for an input plane of the given size.
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height - 1) / stride + 1, (width - 1) / stride + 1)
    }

    /// Multiply-adds × 2 of one forward pass over `batch` images.
    public func forwardFlops(batch: Int, height: Int, width: Int) -> Double {
        let (ho, wo) = outputSize(height: height, width: width)
        return 2 * Double(batch) * Double(outputChannels * inputChannels * 9 * ho * wo)
    }

    /// y[batch, out, Ho, Wo] = conv(x[batch, in, height, width]) (+ bias[out]).
    public func forward(_ x: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
                        weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                        into y: UnsafeMutablePointer<Float>) {
        check(ck_conv3x3_forward(path.cValue, outputWrites.cValue, Int32(batch), Int32(inputChannels),
                                 Int32(outputChannels), Int32(height), Int32(width), Int32(stride), x, weights,
                                 bias, y), batch: batch)
    }

    /// dx[batch, in, height, width] (overwritten) from dy[batch, out, Ho, Wo].
    public func inputGradient(_ dy: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
                              weights: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>) {
        check(ck_conv3x3_backward_data(path.cValue, outputWrites.cValue, Int32(batch), Int32(inputChannels),
                                       Int32(outputChannels), Int32(height), Int32(width), Int32(stride), dy,
                                       weights, dx), batch: batch)
    }

    /// weightGradient[out, in, 3, 3] += Σ_batch dy ⋆ x; biasGradient[out] += Σ dy when given.
    public func weightGradient(input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                               batch: Int, height: Int, width: Int,
                               weightGradient: UnsafeMutablePointer<Float>,
                               biasGradient: UnsafeMutablePointer<Float>?) {
        check(ck_conv3x3_backward_weights(path.cValue, Int32(batch), Int32(inputChannels), Int32(outputChannels),
                                          Int32(height), Int32(width), Int32(stride), x, dy, weightGradient,
                                          biasGradient), batch: batch)
    }

    /// Both gradients in one pass over the batch (each image's dy is read from memory once):
    /// dx as `inputGradient` (skipped when nil, e.g. for a first layer), the weight and bias
    /// gradients accumulated as `weightGradient` does — what `Layer.backward` needs.
    public func backward(input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                         batch: Int, height: Int, width: Int, weights: UnsafePointer<Float>,
                         inputGradient dx: UnsafeMutablePointer<Float>?,
                         weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?) {
        check(ck_conv3x3_backward(path.cValue, outputWrites.cValue, Int32(batch), Int32(inputChannels),
                                  Int32(outputChannels), Int32(height), Int32(width), Int32(stride), x, dy,
                                  weights, dx, weightGradient, biasGradient), batch: batch)
    }

    private func check(_ status: Int32, batch: Int) {
        precondition(status != -1, "DirectConvolution: invalid arguments (batch \(batch)) or unsupported path")
        precondition(status == 0, "DirectConvolution: out of memory for its scratch buffers")
    }
}
