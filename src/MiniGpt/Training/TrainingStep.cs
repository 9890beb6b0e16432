using MiniGpt.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Training;

/// <summary>
/// One optimizer step: gradient_accumulation_steps micro-batches of forward and backward, clipping on the
/// flat gradient, a finiteness check, and AdamW. Shared by the trainer and the step benchmark.
/// A step whose loss or gradient is NaN or Inf is never applied. On the CPU the check is immediate. On a GPU,
/// waiting for the norm would stall the launch queue every step, so the update is discarded on the device,
/// the first bad step is remembered there, and <see cref="ThrowIfDiverged"/> reads it at log and eval points.
/// </summary>
/// <param name="computeCopy">Under mixed precision, the low-precision weights the model reads, if it reads them from one.</param>
public sealed class TrainingStep(Gpt model, FlatParameters flat, AdamW optimizer, int accumulationSteps, double gradClip, Device device,
    ComputeCopy? computeCopy = null)
{
    readonly bool checkEachStep = device.type == DeviceType.CPU;
    readonly Tensor firstBadStep = full(1, -1L, dtype: ScalarType.Int64, device: device);   // (1), −1 while every step was finite

    /// <summary>Test hook: check on the device as on a GPU, even on the CPU.</summary>
    public bool DeferCheck { get; init; }

    /// <summary>Throws if an earlier step was refused for a non-finite loss or gradient (a host sync).</summary>
    public void ThrowIfDiverged()
    {
        long bad = firstBadStep.item<long>();
        if (bad >= 0) throw new TrainingDivergedException((int)bad, "the loss or the gradient");
    }

    /// <summary>Runs a step with learning rate <paramref name="lr"/>; returns (mean loss, ‖g‖ before clipping).</summary>
    /// <param name="nextBatch">Supplies each micro-batch's (x, y), (B, T) int64.</param>
    /// <param name="step">Named in the error if the step diverges.</param>
    public (Tensor Loss, Tensor GradNorm) Run(Func<(Tensor X, Tensor Y)> nextBatch, double lr, int step)
    {
        flat.ZeroGrad();
        Tensor? lossSum = null;                                                   // ()
        for (int micro = 0; micro < accumulationSteps; micro++)
        {
            using var scope = NewDisposeScope();
            var (x, y) = nextBatch();
            var loss = model.Loss(model.call(HostToDevice.Copy(x, device)), HostToDevice.Copy(y, device));
            if (accumulationSteps > 1) loss = loss / accumulationSteps;
            loss.backward();
            computeCopy?.FlushGrad();
            lossSum = lossSum is null ? loss.detach().MoveToOuterDisposeScope() : lossSum.add_(loss.detach());
        }
        var norm = gradClip > 0 ? flat.ClipGradNorm(gradClip) : flat.Grad.norm();
        if (checkEachStep && !DeferCheck)
        {
            if (!float.IsFinite(norm.item<float>()))
                throw new TrainingDivergedException(step, float.IsFinite(lossSum!.item<float>()) ? "the gradient" : "the loss");
            optimizer.StepWith(lr);
        }
        else
        {
            using var finite = norm.isfinite() & lossSum!.isfinite();                           // () bool, on the device
            using (no_grad()) firstBadStep.masked_fill_(finite.logical_not() & firstBadStep.lt(0), step);
            optimizer.StepWith(lr, finite);
        }
        computeCopy?.Refresh();
        return (lossSum!, norm);
    }
}
