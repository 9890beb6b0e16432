using MiniGpt.Data;
using MiniGpt.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Training;

/// <summary>nanoGPT's estimate_loss: the mean loss over a number of batches, in eval mode, without gradients.</summary>
public static class LossEstimator
{
    /// <summary>
    /// The most tokens a forward pass takes: a batch of more goes through in pieces of whole sequences, each
    /// weighted by its rows, so that a checkpoint's batch_size (2^20 at most) costs time rather than memory. A pass
    /// keeps every layer's activations until it ends (its dispose scope), as a training step keeps them for the
    /// backward pass, so the recipes' batches (768 to 16,384 tokens), which training holds, go whole.
    /// </summary>
    public const int MaxTokensPerPass = 1 << 14;

    /// <param name="progress">Told the number of batches done after each.</param>
    public static double Estimate(Gpt model, BatchSampler batches, int iters, Device device, int maxTokensPerPass = MaxTokensPerPass, IProgress<int>? progress = null)
    {
        int B = batches.BatchSize, rows = Math.Clamp(maxTokensPerPass / batches.BlockSize, 1, B);
        bool wasTraining = model.training;
        model.eval();
        using var sum = zeros(1, dtype: float64, device: device);   // (1), summed on the device: one host sync in all
        try
        {
            using var _ = no_grad();
            for (int k = 0; k < iters; k++)
            {
                for (int done = 0; done < B; done += rows)
                {
                    // One scope per pass: a single scope around the loop keeps every batch's activations alive.
                    using var scope = NewDisposeScope();
                    int n = Math.Min(rows, B - done);
                    var (x, y) = batches.Next(n);
                    var loss = model.Loss(model.call(HostToDevice.Copy(x, device)), HostToDevice.Copy(y, device)).to(float64);   // ()
                    sum.add_(n == B ? loss : loss * ((double)n / B));
                }
                progress?.Report(k + 1);
            }
        }
        finally
        {
            if (wasTraining) model.train();
        }
        return sum.item<double>() / iters;
    }
}
