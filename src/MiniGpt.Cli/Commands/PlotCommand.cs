using System.CommandLine;
using MiniGpt.Cli.Inspect;

namespace MiniGpt.Cli.Commands;

public static class PlotCommand
{
    public static Command Build()
    {
        var runs = new Option<string[]>("--run") { Description = "a run's out dir; repeat to overlay runs", Required = true, AllowMultipleArgumentsPerToken = false };
        var tags = new Option<string>("--tags") { Description = "comma-separated scalar tags", DefaultValueFactory = _ => "train/loss,val/loss" };
        var output = new Option<string>("--out") { Description = "a .png or .svg file", DefaultValueFactory = _ => "loss.png" };
        var smoothing = OptionalNumber.WithDefault<double>("--smoothing", "TensorBoard's EMA weight in [0, 1), for series of more than 20 points; 0 draws raw values", 0.6);
        var lr = new Option<bool>("--lr") { Description = "draw the learning rate on a second axis" };
        var log = new Option<bool>("--log-y") { Description = "logarithmic loss axis" };
        var width = OptionalNumber.WithDefault<int>("--width", "", 1000);
        var height = OptionalNumber.WithDefault<int>("--height", "", 600);
        var cmd = new Command("plot", "Draw loss curves from runs' TensorBoard event files into a PNG or SVG, without Python.")
        {
            runs, tags, output, smoothing, lr, log, width, height,
        };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            var s = r.GetValue(smoothing);
            var problems = new List<ConfigProblem>();
            if (!(s >= 0 && s < 1)) problems.Add(new("smoothing", ConfigProblem.Show(s), "must be in [0, 1)"));
            foreach (var (key, value) in new[] { ("width", r.GetValue(width)), ("height", r.GetValue(height)) })
                if (value is < 16 or > 20_000) problems.Add(new(key, ConfigProblem.Show(value), "must be in [16, 20000] pixels"));
            var file = r.GetValue(output)!;
            if (!(file.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".svg", StringComparison.OrdinalIgnoreCase)))
                problems.Add(new("out", ConfigProblem.Show(file), "must name a .png or .svg file"));
            else if (Directory.Exists(file)) problems.Add(new("out", ConfigProblem.Show(file), "is a folder; give a file name"));
            var tagList = r.GetValue(tags)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (tagList.Length == 0) problems.Add(new("tags", ConfigProblem.Show(r.GetValue(tags)), "must name at least one scalar tag"));
            if (problems.Count > 0) throw new ConfigException(problems);
            var request = new PlotRequest(r.GetValue(runs)!, tagList,
                r.GetValue(output)!, s, r.GetValue(lr), r.GetValue(log), r.GetValue(width), r.GetValue(height));
            LossPlot.Render(request);
            Console.WriteLine($"wrote {request.Out}");
            return 0;
        }, cmd.Options));
        return cmd;
    }
}
