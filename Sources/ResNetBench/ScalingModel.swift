import Foundation

/// What one synchronous data-parallel training step costs at many ranks, from figures measured
/// on one machine: the compute of a step at each per-rank batch (forward, backward and update,
/// measured at one rank), the gradient allreduce and synchronised BatchNorm's collectives
/// (counted on the model), and an interconnect's latency and bandwidth.
///
/// Strong scaling at the thesis's global batch: p ranks each compute `globalBatch / p` images,
/// then wait for the collectives, which the trainer runs after backward (no overlap):
///
///     step(p) = compute(B/p) + allreduce(gradient floats) + Σ allreduce(BatchNorm sums)
///
/// An allreduce of n bytes over p ranks costs the cheaper of MPI's two usual algorithms under
/// the α–β model (α the latency of one message, β the bandwidth): a ring,
/// 2(p−1)·α + 2(p−1)/p · n/β, for large buffers, and recursive doubling, ⌈log₂ p⌉·(α + n/β),
/// for small ones.
public struct ScalingModel: Codable, Equatable, Sendable {
    /// Compute time of one step at a per-rank batch (no collectives).
    public struct ComputePoint: Codable, Equatable, Sendable {
        public var perRankBatch: Int
        public var seconds: Double
        public init(perRankBatch: Int, seconds: Double) {
            self.perRankBatch = perRankBatch
            self.seconds = seconds
        }
    }

    /// A network between ranks: the latency of one message and the bandwidth of one link.
    public struct Interconnect: Codable, Equatable, Sendable {
        public var name: String
        public var latency: Double
        public var bandwidth: Double
        public init(name: String, latency: Double, bandwidth: Double) {
            self.name = name
            self.latency = latency
            self.bandwidth = bandwidth
        }

        /// A common cluster network: 1.5 µs, 12.5 GB/s (200 Gb/s InfiniBand HDR, one port).
        public static let infiniBand = Interconnect(name: "InfiniBand HDR (1.5 µs, 12.5 GB/s)", latency: 1.5e-6, bandwidth: 12.5e9)
        /// A cheaper cluster network: 25 µs, 1.25 GB/s (10 Gb Ethernet with TCP).
        public static let ethernet = Interconnect(name: "10 Gb Ethernet (25 µs, 1.25 GB/s)", latency: 25e-6, bandwidth: 1.25e9)
    }

    public var network: String
    public var globalBatch: Int
    public var compute: [ComputePoint]
    /// Floats in the gradient allreduce (the parameter count).
    public var gradientFloats: Int
    /// Doubles summed by each of synchronised BatchNorm's collectives in one step, in call order.
    public var batchNormSums: [Int]

    public init(network: String, globalBatch: Int, compute: [ComputePoint], gradientFloats: Int, batchNormSums: [Int]) {
        self.network = network
        self.globalBatch = globalBatch
        self.compute = compute.sorted { $0.perRankBatch < $1.perRankBatch }
        self.gradientFloats = gradientFloats
        self.batchNormSums = batchNormSums
    }

    /// Seconds of one allreduce of `bytes` over `ranks` ranks on `net`.
    public static func allreduceSeconds(bytes: Double, ranks: Int, on net: Interconnect) -> Double {
        guard ranks > 1 else { return 0 }
        let p = Double(ranks)
        let ring = 2 * (p - 1) * net.latency + 2 * (p - 1) / p * bytes / net.bandwidth
        let doubling = (log2(p)).rounded(.up) * (net.latency + bytes / net.bandwidth)
        return min(ring, doubling)
    }

    /// Compute seconds at a per-rank batch: measured, or linear between the nearest measured
    /// batches (a step's time is close to affine in its batch), extended past the ends.
    public func computeSeconds(perRankBatch b: Int) -> Double {
        if let exact = compute.first(where: { $0.perRankBatch == b }) { return exact.seconds }
        guard compute.count >= 2 else { return (compute.first?.seconds ?? 0) * Double(b) / Double(compute.first?.perRankBatch ?? 1) }
        let upper = compute.firstIndex { $0.perRankBatch > b } ?? compute.count - 1
        let hi = compute[max(upper, 1)], lo = compute[max(upper, 1) - 1]
        let slope = (hi.seconds - lo.seconds) / Double(hi.perRankBatch - lo.perRankBatch)
        return max(0, lo.seconds + slope * Double(b - lo.perRankBatch))
    }

    /// The predicted step at `ranks` ranks.
    public struct Prediction: Equatable, Sendable {
        public var ranks: Int
        public var perRankBatch: Int
        public var compute: Double
        public var gradientAllreduce: Double
        public var batchNorm: Double
        public var step: Double { compute + gradientAllreduce + batchNorm }
        public var communication: Double { gradientAllreduce + batchNorm }
        /// Speed-up over one rank, divided by the ranks.
        public var efficiency: Double
        public var imagesPerSecond: Double
    }

    /// The step at `ranks` ranks (global batch split evenly; at least one image per rank), with
    /// synchronised BatchNorm unless `localBatchNorm`.
    public func predict(ranks: Int, on net: Interconnect, localBatchNorm: Bool = false) -> Prediction {
        let b = max(1, globalBatch / ranks)
        let compute = computeSeconds(perRankBatch: b)
        let gradient = Self.allreduceSeconds(bytes: Double(gradientFloats * 4), ranks: ranks, on: net)
        let bn = localBatchNorm ? 0 : batchNormSums.reduce(0) { $0 + Self.allreduceSeconds(bytes: Double($1 * 8), ranks: ranks, on: net) }
        let one = computeSeconds(perRankBatch: globalBatch)
        let step = compute + gradient + bn
        return Prediction(ranks: ranks, perRankBatch: b, compute: compute, gradientAllreduce: gradient, batchNorm: bn,
                          efficiency: one / step / Double(ranks), imagesPerSecond: Double(b * ranks) / step)
    }

    /// Where scaling stops paying: the fewest ranks (of `ranks`) at which communication takes
    /// longer than compute, and the fewest at which efficiency falls under one half.
    public func knee(on net: Interconnect, ranks: [Int], localBatchNorm: Bool = false)
        -> (communicationBound: Int?, halfEfficiency: Int?) {
        let p = ranks.map { predict(ranks: $0, on: net, localBatchNorm: localBatchNorm) }
        return (p.first { $0.communication > $0.compute }?.ranks, p.first { $0.efficiency < 0.5 }?.ranks)
    }

    /// One allreduce measured on this machine's transport at several ranks.
    public struct CollectiveRow: Codable, Equatable, Sendable {
        public var ranks: Int
        /// The fastest allreduce of 64 doubles (a BatchNorm layer's sums).
        public var smallSeconds: Double
        public var gradientFloats: Int
        /// The fastest allreduce of the gradient.
        public var gradientSeconds: Double
        /// What the two imply under the α–β model.
        public var latency: Double
        public var bandwidth: Double
        /// What carried the messages, e.g. "TCP between network-namespace hosts"; nil: this
        /// machine's own transport (shared memory between ranks of one host).
        public var transport: String? = nil

        public var transportName: String { transport ?? "this machine" }

        public var interconnect: Interconnect {
            Interconnect(name: "\(transportName), np \(ranks) (measured: \(String(format: "%.1f µs, %.2f GB/s", latency * 1e6, bandwidth / 1e9)))",
                         latency: latency, bandwidth: bandwidth)
        }
    }

    /// 1, 2, 4, …, 256.
    public static let ranks = (0...8).map { 1 << $0 }

    /// The model as Markdown: a table per interconnect and the knees.
    public func markdown(networks: [Interconnect] = [.infiniBand, .ethernet]) -> String {
        func ms(_ s: Double) -> String { String(format: "%.2f", s * 1000) }
        var out = ["### Scaling past one machine (model): \(network), global batch \(globalBatch)\n",
                   "Step = compute at the per-rank batch (measured at one rank on this machine) + the gradient allreduce (\(gradientFloats) floats) + synchronised BatchNorm's \(batchNormSums.count) collectives (\(batchNormSums.reduce(0, +)) doubles in all), each priced by the α–β model (ring or recursive doubling, whichever is cheaper). Predicted, not measured.\n"]
        for net in networks {
            out.append("**\(net.name)**\n")
            out.append("| ranks | per-rank batch | compute ms | gradient allreduce ms | BatchNorm collectives ms | step ms | images/s | efficiency | efficiency, local BatchNorm |")
            out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            for r in Self.ranks {
                let p = predict(ranks: r, on: net), l = predict(ranks: r, on: net, localBatchNorm: true)
                out.append("| \(r) | \(p.perRankBatch) | \(ms(p.compute)) | \(ms(p.gradientAllreduce)) | \(ms(p.batchNorm)) | \(ms(p.step)) | \(String(format: "%.0f", p.imagesPerSecond)) | \(String(format: "%.0f %%", 100 * p.efficiency)) | \(String(format: "%.0f %%", 100 * l.efficiency)) |")
            }
            let k = knee(on: net, ranks: Self.ranks), kl = knee(on: net, ranks: Self.ranks, localBatchNorm: true)
            let most = Self.ranks.last ?? 256
            func from(_ r: Int?) -> String { r.map { "from \($0) ranks" } ?? "nowhere up to \(most) ranks" }
            out.append("\nKnee: communication outweighs compute \(from(k.communicationBound)); efficiency falls under 50 % \(from(k.halfEfficiency)) (with local BatchNorm: \(from(kl.communicationBound)); \(from(kl.halfEfficiency))).\n")
        }
        return out.joined(separator: "\n")
    }
}
