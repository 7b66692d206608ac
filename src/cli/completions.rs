use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;
use crate::error::Exit;
use crate::output::Printer;

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// Shell to generate for.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

/// The completion script for `shell`, as committed in completions/.
pub fn completion_script(shell: CompletionShell) -> Vec<u8> {
    let shell = match shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "drkit", &mut out);
    out
}

pub fn completions(printer: &Printer, args: &CompletionsArgs) -> anyhow::Result<Exit> {
    printer.raw(&completion_script(args.shell));
    Ok(Exit::Ok)
}

pub fn man_page() -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    Ok(out)
}

pub fn man(printer: &Printer) -> anyhow::Result<Exit> {
    printer.raw(&man_page()?);
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed scripts must match the CLI; regenerate with
    /// `for s in bash zsh fish; do cargo run -q -- completions $s > completions/drkit.$s; done`.
    #[test]
    fn committed_completions_are_fresh() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
        for (shell, file) in [
            (CompletionShell::Bash, "drkit.bash"),
            (CompletionShell::Zsh, "drkit.zsh"),
            (CompletionShell::Fish, "drkit.fish"),
        ] {
            let committed = std::fs::read(root.join(file)).unwrap_or_default();
            assert!(
                committed == completion_script(shell),
                "completions/{file} is stale: regenerate with `cargo run -q -- completions {shell:?} > completions/{file}` (lowercase shell)"
            );
        }
    }

    #[test]
    fn man_page_renders() {
        let page = String::from_utf8(man_page().unwrap()).unwrap();
        assert!(page.contains("drkit"));
    }
}
