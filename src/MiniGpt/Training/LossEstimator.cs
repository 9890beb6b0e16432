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
        double sum = 0;
        try
        {
            using var _ = no_grad();
            for (int k = 0; k < iters; k++)
            {
                // One scope per batch: a single scope around the loop keeps every batch's activations alive.
                using var scope = NewDisposeScope();
                var (x, y) = batches.Next();
                sum += model.Loss(model.call(x.to(device)), y.to(device)).item<float>();
            }
        }
        finally
        {
            if (wasTraining) model.train();
        }
        return sum / iters;
    }
}
