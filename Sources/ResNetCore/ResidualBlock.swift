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
            var t = Tensor(shape: shape, data: z)
            for layer in stageLayers[i] { t = try layer.forward(t, training: training, buffers: buffers) }
            return t.data
        }
        return Tensor(shape: shape, data: out)
    }

    func backward(_ outputGradient: Tensor, buffers: LayerBuffers) throws -> Tensor {
        let shape = outputGradient.shape
        let dIn = try tableau.stepBackward(outputGradient.data, h: h) { i, dk in
            var g = Tensor(shape: shape, data: dk)
            for layer in stageLayers[i].reversed() { g = try layer.backward(g, buffers: buffers) }
            return g.data
        }
        return Tensor(shape: shape, data: dIn)
    }
}
