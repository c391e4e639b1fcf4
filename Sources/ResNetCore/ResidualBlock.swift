/// One residual block: Y ← one explicit RK step of size h with sub-network F.
/// F's layers are instantiated once per stage (same parameter offsets, separate saved state).
final class ResidualBlock {
    let tableau: ButcherTableau
    let h: Float
    let stageLayers: [[Layer]]

    init(subNetwork: [Layer], tableau: ButcherTableau, h: Float) {
        self.tableau = tableau
        self.h = h
        self.stageLayers = (0..<tableau.stages).map { i in i == 0 ? subNetwork : subNetwork.map { $0.freshCopy() } }
    }

    /// Stage-specific instances of F (same parameters; e.g. each stage with its own BatchNorm
    /// running statistics).
    init(stageLayers: [[Layer]], tableau: ButcherTableau, h: Float) {
        precondition(stageLayers.count == tableau.stages, "one layer list per stage")
        self.tableau = tableau
        self.h = h
        self.stageLayers = stageLayers
    }

    func forward(_ input: Tensor, training: Bool, buffers: LayerBuffers) throws -> Tensor {
        let shape = input.shape
        let out = try tableau.step(input.data, h: h) { i, z in
            // zᵢ is the block's input or a sum the step keeps: F's first layer only reads it, and
            // every later layer owns the output of the one before.
            let layers = stageLayers[i]
            var t = try layers[0].forward(Tensor(shape: shape, data: z), training: training, buffers: buffers)
            for layer in layers.dropFirst() { t = try layer.forward(owned: consume t, training: training, buffers: buffers) }
            return t.data
        }
        return Tensor(shape: shape, data: out)
    }

    func backward(_ outputGradient: consuming Tensor, buffers: LayerBuffers) throws -> Tensor {
        let shape = outputGradient.shape
        let dIn = try tableau.stepBackward(outputGradient.data, h: h) { (i: Int, dk: consuming [Float]) in
            var g = Tensor(shape: shape, data: consume dk)
            for layer in stageLayers[i].reversed() { g = try layer.backward(consume g, buffers: buffers) }
            return g.data
        }
        return Tensor(shape: shape, data: dIn)
    }
}
