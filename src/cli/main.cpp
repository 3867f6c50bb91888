// Placeholder entry point; replaced by the CLI funnel.
int main() { return 0; }
