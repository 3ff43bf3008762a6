"""``python -m bc_gym.games.runner``: rewrite ``bc_gym/web/runner.rules.js`` from the rules."""

from bc_gym.games.runner.game import RULES_JS_PATH, rules_js

if __name__ == "__main__":
    RULES_JS_PATH.write_text(rules_js())
    print("wrote", RULES_JS_PATH)
