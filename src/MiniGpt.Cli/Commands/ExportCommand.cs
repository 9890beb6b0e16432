using System.CommandLine;
using MiniGpt.Checkpoints;
using MiniGpt.Config;
using MiniGpt.Formats;

namespace MiniGpt.Cli.Commands;

public static class ExportCommand
{
    public static Command Build()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "a run's out dir (its best.ckpt, else last.ckpt), a .ckpt file, a Hugging Face GPT-2 folder, or gpt2 … gpt2-xl", Required = true };
        var output = new Option<string>("--out") { Description = "the folder to write: new or empty", Required = true };
        var dtype = new ChoiceOption<Precision>("--dtype", "the weights' precision in model.safetensors", Precision.Float32);
        var cmd = new Command("export", "Write a model as a Hugging Face GPT-2 folder (model.safetensors, config.json, tokenizer) for transformers, llama.cpp or PyTorch.")
        {
            checkpoint, output, dtype.Option,
        };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            if (string.IsNullOrWhiteSpace(r.GetValue(output))) throw new ConfigException("out", r.GetValue(output), "must name a folder");
            NativeTorch.Load();
            using var downloads = new Downloads();
            using var m = TrainedModel.Load(r.GetValue(checkpoint)!, DeviceKind.Cpu, Downloads.OptionsFor(r.GetValue(checkpoint)!), downloads);
            // The checkpoint's, not the command line's: a file that cannot be used (exit 1), named.
            if (m.Config.PositionEncoding == MiniGpt.Model.PositionEncoding.Rotary)
                throw new DataException(m.Path, $"{m.Path} holds a model with rotary positions, which have no GPT-2 equivalent: only models with learned or sinusoidal positions export");
            var result = HfExport.Write(m.Model, m.Config, m.Tokenizer, r.GetValue(output)!, dtype.Get(r) == Precision.BFloat16 ? TensorDtype.BF16 : TensorDtype.F32);
            Console.WriteLine($"exported {m.Path} (step {m.Step}, {m.Model.ParameterCount / 1e6:F2}M parameters) to {result.Dir}: {string.Join(", ", result.Files)}");
            foreach (var limitation in result.Limitations) Console.WriteLine($"note: {limitation}");
            return 0;
        }, cmd.Options));
        return cmd;
    }
}
