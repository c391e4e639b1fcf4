/// Sizes of the model a spec describes, computed from the spec alone — before anything is
/// allocated, in Double so that absurd specs (10⁸ blocks, widths of 10⁶) cannot overflow.
extension ModelSpec {
    /// The number of trainable parameters (exactly what `ResNetModel(spec:seed:)` allocates) and
    /// of BatchNorm state values.
    public var sizeEstimate: (parameters: Double, state: Double, activationsPerSample: Double) {
        let stages = Double(integrator.tableau.stages)
        var parameters = 0.0, state = 0.0, activations = 0.0
        func linear(_ inputs: Double, _ outputs: Double) { parameters += inputs * outputs + outputs }
        switch kind {
        case .mlp:
            let w = Double(widths[0]), b = Double(blocks[0])
            linear(Double(inputShape[0]), w)
            parameters += b * 2 * (w * w + w)
            linear(w, Double(outputs))
            // Each stage of a block keeps its inputs and the hidden activations for backward.
            activations = w * (2 + b * stages * 3)
        case .cnn:
            var c = Double(inputShape[0]), height = inputShape[1], width = inputShape[2]
            func batchNorm(_ channels: Double, copies: Double = 1) { parameters += 2 * channels; state += 2 * channels * copies }
            if inputLayer {
                parameters += 9 * c * Double(widths[0])
                c = Double(widths[0])
                batchNorm(c)
                activations += 2 * c * Double(height * width)
            }
            for (g, groupChannels) in widths.enumerated() {
                let cg = Double(groupChannels)
                parameters += 9 * c * cg
                if g > 0 { (height, width) = ((height - 1) / 2 + 1, (width - 1) / 2 + 1) }
                c = cg
                batchNorm(c)
                let plane = c * Double(height * width)
                let b = Double(blocks[g])
                parameters += b * 2 * (9 * c * c + c)
                parameters += b * 2 * 2 * c
                state += b * stages * 2 * 2 * c
                // Each stage of a block keeps two normalised inputs and its stage output.
                activations += 2 * plane + b * stages * 3 * plane
            }
            linear(head == .flatten ? c * Double(height * width) : c, Double(outputs))
        }
        return (parameters, state, activations)
    }
}
