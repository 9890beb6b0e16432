using System.CommandLine;
using MiniGpt.Cli.Hosting;
using MiniGpt.Config;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MiniGpt.Cli.Commands;

public static class TrainCommand
{
    public const string DefaultConfig = "configs/shakespeare-char-cpu.json";

    public static Command Build()
    {
        var config = new Option<string>("--config") { Description = "a JSON config", DefaultValueFactory = _ => DefaultConfig };
        var resume = new Option<bool>("--resume") { Description = "continue from <out_dir>/last.ckpt (same as --init_from resume)" };
        var overwrite = new Option<bool>("--overwrite") { Description = "start over in an out_dir that holds a run, deleting its checkpoints and logs" };
        var otherData = new Option<bool>("--accept-other-data") { Description = "resume although the token cache was made from other text than the checkpoint" };
        var cmd = new Command("train", "Train a GPT on a token cache as a hosted worker. Every config key below can be set in the config file, or overridden on the command line: --max_iters 200.")
        {
            config, resume, overwrite, otherData,
        };
        cmd.TreatUnmatchedTokensAsErrors = false;   // the --key value overrides
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            NativeTorch.Load();
            var overrides = Overrides.Parse(r.UnmatchedTokens);
            if (r.GetValue(resume) && r.GetValue(overwrite)) throw new ConfigException([new ConfigProblem("overwrite", null, "conflicts with --resume")]);
            if (r.GetValue(resume))
            {
                if (overrides.FirstOrDefault(o => o.Key == "init_from") is { Key: not null } given
                    && given.Value != InitFrom.Resume)
                    throw new ConfigException([new ConfigProblem("init_from", ConfigProblem.Show(given.Value), "conflicts with --resume")]);
                if (!overrides.Any(o => o.Key == "init_from")) overrides.Add(new("init_from", "resume"));
            }
            var c = TrainConfig.Schema.Load(r.GetValue(config), overrides);
            if (r.GetValue(overwrite) && c.InitFrom == InitFrom.Resume) throw new ConfigException([new ConfigProblem("overwrite", null, "conflicts with init_from = resume")]);
            // eval_only writes nothing: starting over would only delete the run it could have evaluated.
            if (r.GetValue(overwrite) && c.EvalOnly) throw new ConfigException([new ConfigProblem("overwrite", null, "conflicts with eval_only = true")]);
            return RunHost(new TrainRequest(c, r.GetValue(overwrite), r.GetValue(otherData)));
        }, cmd.Options));
        return cmd;
    }

    static int RunHost(TrainRequest request)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = Directory.GetCurrentDirectory() });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(request);
        builder.Services.AddSingleton<RunOutcome>();
        builder.Services.AddHostedService<TrainingWorker>();
        // Ctrl+C waits for the final checkpoint; the default 30 s could cut a large save short.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(10));
        using var host = builder.Build();
        var outcome = host.Services.GetRequiredService<RunOutcome>();   // Run() disposes the services
        host.Run();
        return outcome.ExitCode;
    }
}

/// <summary>Reads <c>--key value</c> and <c>--key=value</c> pairs; anything else is an error.</summary>
public static class Overrides
{
    public static List<KeyValuePair<string, string>> Parse(IReadOnlyList<string> tokens)
    {
        var result = new List<KeyValuePair<string, string>>();
        for (int i = 0; i < tokens.Count; i++)
        {
            var t = tokens[i];
            if (!t.StartsWith("--") || t.Length == 2) throw Usage($"unexpected argument '{t}'; config overrides look like --max_iters 200");
            var body = t[2..];
            int eq = body.IndexOf('=');
            if (eq >= 0) { result.Add(new(body[..eq], body[(eq + 1)..])); continue; }
            if (i + 1 >= tokens.Count) throw Usage($"override --{body} has no value");
            result.Add(new(body, tokens[++i]));
        }
        return result;
    }

    static ConfigException Usage(string problem) => new([new ConfigProblem(null, null, problem)]);
}
