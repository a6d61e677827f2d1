const m = await import('/work/main/test/env/index.ts');
console.log(Object.keys(m));
