using MiniGpt.Data;
using MiniGpt.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Training;

/// <summary>nanoGPT's estimate_loss: the mean loss over a number of batches, in eval mode, without gradients.</summary>
public static class LossEstimator
{
    public static double Estimate(Gpt model, BatchSampler batches, int iters, Device device)
    {
        bool wasTraining = model.training;
        model.eval();
        using var sum = zeros(1, dtype: float64, device: device);   // (1), summed on the device: one host sync in all
        try
        {
            using var _ = no_grad();
            for (int k = 0; k < iters; k++)
            {
                // One scope per batch: a single scope around the loop keeps every batch's activations alive.
                using var scope = NewDisposeScope();
                var (x, y) = batches.Next();
                sum.add_(model.Loss(model.call(HostToDevice.Copy(x, device)), HostToDevice.Copy(y, device)).to(float64));
            }
        }
        finally
        {
            if (wasTraining) model.train();
        }
        return sum.item<double>() / iters;
    }
}
