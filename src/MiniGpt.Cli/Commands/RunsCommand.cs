using System.CommandLine;
using MiniGpt.Cli.Inspect;
using Spectre.Console;

namespace MiniGpt.Cli.Commands;

public static class RunsCommand
{
    public static Command Build()
    {
        var dir = new Argument<string>("dir") { Description = "a folder of runs, or one run", DefaultValueFactory = _ => "out" };
        var cmd = new Command("runs", "Summarise the training runs under a folder: steps, best val loss, tokens, time, tokenizer, size.") { dir };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            NativeTorch.Load();
            var runs = RunSummary.Find(r.GetValue(dir)!);
            if (runs.Count == 0) throw new DataException(r.GetValue(dir)!, $"no runs under {r.GetValue(dir)} (a run folder holds last.ckpt, metrics.jsonl or event files)");
            var table = new Table().Border(TableBorder.Rounded);
            foreach (var h in new[] { "run", "last step", "best val", "at step", "tokens", "wall time", "tokenizer", "parameters" })
                table.AddColumn(new TableColumn(h).RightAligned());
            table.Columns[0].LeftAligned();
            table.Columns[6].LeftAligned();
            foreach (var path in runs)
            {
                var s = RunSummary.Read(path);
                table.AddRow(
                    Markup.Escape(s.Name),
                    s.LastStep?.ToString("N0") ?? "-",
                    s.BestVal is { } v ? v.ToString("F4") : "-",
                    s.BestStep?.ToString("N0") ?? "-",
                    s.TokensSeen is { } t ? $"{t / 1e6:F2}M" : "-",
                    s.WallSeconds is { } w ? WallTime(w) : "-",
                    Markup.Escape(s.Tokenizer ?? "-"),
                    s.Parameters is { } p ? $"{p / 1e6:F2}M" : "-");
                if (s.Error is not null) table.AddRow($"[red]  ↳ {Markup.Escape(s.Error)}[/]", "", "", "", "", "", "", "");
            }
            if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 200;   // no terminal to fit: keep rows on one line
            AnsiConsole.Write(table);
            return 0;
        }, cmd.Options));
        return cmd;
    }

    /// <summary>
    /// Hours, minutes and seconds, the hours not wrapped at a day (TimeSpan's "h" drops whole days); "?" for what no
    /// run took (negative, NaN, or a logged 10¹⁵ s, which TimeSpan could not even hold).
    /// </summary>
    public static string WallTime(double seconds)
    {
        if (!double.IsFinite(seconds) || seconds < 0 || seconds >= 1e15) return "?";
        long s = (long)seconds;
        return $"{s / 3600}:{s / 60 % 60:00}:{s % 60:00}";
    }
}
