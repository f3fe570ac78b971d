// The unit templates in tools/ are imported `with { type: "text" }`: Bun hands over the file's text (and embeds
// it in the compiled binary).
declare module "*.in" {
  const text: string;
  export default text;
}
