using MiniGpt.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Training;

/// <summary>
/// One optimizer step: gradient_accumulation_steps micro-batches of forward and backward, clipping on the
/// flat gradient, a finiteness check, and AdamW. Shared by the trainer and the step benchmark.
/// </summary>
public sealed class TrainingStep(Gpt model, FlatParameters flat, AdamW optimizer, int accumulationSteps, double gradClip, Device device)
{
    /// <summary>Runs a step with learning rate <paramref name="lr"/>; returns (mean loss, ‖g‖ before clipping).</summary>
    /// <param name="nextBatch">Supplies each micro-batch's (x, y), (B, T) int64.</param>
    /// <param name="step">Named in the error if the step diverges.</param>
    public (Tensor Loss, Tensor GradNorm) Run(Func<(Tensor X, Tensor Y)> nextBatch, double lr, int step)
    {
        flat.ZeroGrad();
        var lossSum = zeros(1, device: device);
        for (int micro = 0; micro < accumulationSteps; micro++)
        {
            using var scope = NewDisposeScope();
            var (x, y) = nextBatch();
            var loss = model.Loss(model.call(x.to(device)), y.to(device)) / accumulationSteps;
            loss.backward();
            lossSum.add_(loss.detach());
        }
        var norm = gradClip > 0 ? flat.ClipGradNorm(gradClip) : flat.Grad.norm();
        // The check needs the norm on the host. Stopping before the update keeps every weight finite.
        if (!float.IsFinite(norm.item<float>()))
            throw new TrainingDivergedException(step, float.IsFinite(lossSum.item<float>()) ? "the gradient" : "the loss");
        optimizer.StepWith(lr);
        return (lossSum.squeeze(), norm);
    }
}
