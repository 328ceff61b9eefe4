/**
 * What a forbidden topic is usually asked about in other words. A system prompt names a topic once
 * ("never discuss music"); a user turn about it rarely uses that word: it names a composer's work, asks
 * in German ("Wer hat … komponiert?"), or asks about a thing that belongs to the topic (Bitcoin for
 * cryptography, a pawn for chess). Each concept lists the names a system prompt gives the topic and
 * terms that mark a question about it, in English and in the languages such questions are usually
 * switched to (the "different user input language" technique), written from general knowledge.
 *
 * Terms are word stems matched at word starts, accent-folded (term-matcher.ts): "politic" matches
 * "political" and "Politik"; stems under four letters match whole words only. A term with spaces needs
 * all its words somewhere in the turn ("global temperature"). Terms are chosen to be specific: words
 * with an everyday sense outside the topic ("party", "band", "match", "key") are left out, since a
 * finding on an honest question is its own cost.
 */

export interface Concept {
  /** A short name for messages. */
  readonly name: string;
  /** How a system prompt names the topic: each is a list of word stems (all must be in the rule). */
  readonly names: readonly (readonly string[])[];
  /** Terms that mark a question about the topic. */
  readonly terms: readonly string[];
}

const list = (s: string): string[] =>
  s
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');

const names = (s: string): string[][] => list(s).map((n) => n.split(' '));

export const concepts: readonly Concept[] = [
  {
    name: 'music',
    names: names('music, musician, composer, song, singer'),
    terms: list(
      'music, musical, musician, song, singer, composer, symphon, concerto, sonata, opera=, operas=, orchestra, ' +
        'melod, lyric, chord, guitar, piano, violin, mozart, beethoven, chopin, ' +
        'musique, compositeur, chanson, música, compositor, canción, cancion, musik, komponist, komponier, ' +
        'sinfonie, musica, compositore, canzone, cantor, музык, композитор, песн, μουσικ, ' +
        'συνθέτ, τραγούδ, 音楽, 作曲, 音乐, 歌曲, 음악, 작곡, 노래, موسيق, ملحن, أغني, संगीत, गाना',
    ),
  },
  {
    name: 'recipes and cooking',
    // Not "baking": "do not help with baking a cake" rules out the cake, not every recipe.
    names: names('recipe, recipy, culinary'),
    terms: list(
      'recipe, recipy, cook=, cooking, cooked, bake=, baked, baking, ingredient, omelet, sushi, pizza, lasagn, ' +
        'risotto, paella, moussaka, rendang, curry=, casserole, marinade, dough, roast chicken, ' +
        'recette, cuisiner, cuisson, receta, cocinar, rezept, kochen, backen, ricetta, cucinare, receita, ' +
        'cozinhar, resep, masak, рецепт, готовить, приготовить, συνταγ, μαγειρ, μουσακα, レシピ, 料理, ' +
        '作り方, 寿司, 食谱, 菜谱, 做法, 烹饪, 레시피, 요리, وصفة, طبخ, रेसिपी, पकाना',
    ),
  },
  {
    name: 'sports',
    names: names('sport, sports, athletic'),
    terms: list(
      'sport, football, soccer, basketball, baseball, tennis, golf, hockey, cricket, rugby, olympic, ' +
        'athlete, league, tournament, championship, world cup, nba, nfl, fifa, uefa, super bowl, ' +
        'deporte, fútbol, futbol, fußball, fussball, calcio, futebol, campeonato, liga=, спорт, футбол, ' +
        'αθλητ, ποδόσφαιρ, スポーツ, サッカー, 野球, 体育, 足球, 篮球, 스포츠, 축구, 야구, رياضة, دوري, كرة, खेल, क्रिकेट',
    ),
  },
  {
    name: 'politics',
    names: names('politic, political, election, government'),
    terms: list(
      'politic, election, electoral, vote, voting, ballot, democra, republican, parliament, congress, ' +
        'senate, senator, president, prime minister, government, socialis, communis, liberal, ' +
        'mayor, governor, partisan, ' +
        'conservative, left-wing, right-wing, politique, política, politica, politik, élection, ' +
        'elección, eleição, wahl, elezion, политик, выбор, πολιτικ, εκλογ, 政治, 選挙, 选举, 정치, 선거, سياس, انتخاب, राजनीति, चुनाव',
    ),
  },
  {
    name: 'religion',
    names: names('religion, religious, faith'),
    terms: list(
      'religio, god, church, mosque, temple, synagogue, bible, quran, koran, torah, christianit, ' +
        'islam, muslim, jewish, judaism, hindu, buddhis, atheis, faith, prayer, jesus, allah, ' +
        'catholic, protestant, evangelical, mormon, sikh, sunni, shia=, pope=, rabbi, imam=, ' +
        'religión, religião, iglesia, kirche, chiesa, igreja, biblia, bibel, corán, coran, ramadan, религи, церк, θρησκ, 宗教, 종교, دين, धर्म',
    ),
  },
  {
    name: 'medicine',
    names: names('medic, medical, medication, medicine, health, drug, pharmaceutical, psychiatric'),
    terms: list(
      'medic, drug, dosage, prescri, symptom, disease, illness, chest pain, heart attack, blood pressure, ' +
        'fever, migraine, insulin, ozempic, semaglutide, wegovy, metformin, weight loss drug, weight-loss drug, ' +
        'pharmac, antibiotic, ibuprofen, aspirin, paracetamol, acetaminophen, opioid, morphine, vaccin, ' +
        'physician, surgery, cancer, diabetes, psychiatr, antidepressant, médic, médicament, medicament, ' +
        'creatine, caffeine pill, pre-workout, preworkout, protein powder, melatonin, anabolic steroid, ' +
        'dietary supplement, bipolar, adderall, xanax, zoloft, prozac, milligram, miligram, ' +
        'medikament, arznei, krankheit, farmac, medicina, remedio, лекарств, врач, болезн, φάρμακ, ' +
        'γιατρ, ασθένει, 薬, 医者, 病気, 药, 医生, 疾病, 약물, 의사, 질병, دواء, طبيب, مرض, दवा, डॉक्टर',
    ),
  },
  {
    name: 'artificial intelligence',
    names: names('ai, artifici intelligence, machine learn, neur network, llm'),
    terms: list(
      'ai, artificial intelligence, machine learning, deep learning, neural net, llm, language model, ' +
        'chatgpt, gpt, turing test, intelligenza artificiale, reti neurali, rete neurale, ' +
        'inteligencia artificial, inteligência artificial, red neuronal, redes neuronales, redes neurais, ' +
        'intelligence artificielle, réseau de neurones, réseaux de neurones, künstliche intelligenz, ' +
        'neuronale netz, maschinelles lernen, apprentissage automatique, aprendizaje automático, ' +
        'искусственн интеллект, нейросет, нейронн, τεχνητή νοημοσύνη, νευρωνικ, 人工知能, 機械学習, ' +
        'ニューラル, 人工智能, 机器学习, 神经网络, 인공지능, 머신러닝, 신경망, ذكاء اصطناعي, كاء الاصطناعي, ' +
        'कृत्रिम बुद्धि',
    ),
  },
  {
    name: 'quantum physics',
    names: names('quantum, quantum physic, quantum mechanic'),
    terms: list(
      'quantum, superposition, entanglement, qubit, schrodinger, shrodinger, heisenberg, ' +
        'wave function, wavefunction, uncertainty principle, quantistic, cuántic, quantique, quanten, ' +
        'quântic, квант, κβαντ, 量子, 양자',
    ),
  },
  {
    name: 'space travel',
    names: names('space travel, space exploration, spaceflight, astronaut, astronomy'),
    terms: list(
      'spacecraft, spaceship, space shuttle, space station, spaceflight, astronaut, cosmonaut, rocket, ' +
        'nasa, spacex, apollo, lunar, moon landing, moon land, mars mission, orbit, ' +
        'astronauta, astronaute, raumfahrt, rakete, cohete, fusée, космонавт, ракет, αστροναύτ, ' +
        '宇宙飛行, ロケット, 宇航, 火箭, 우주, 로켓, رائد فضاء, صاروخ',
    ),
  },
  {
    name: 'climate change',
    names: names('climate change, climate, global warming'),
    terms: list(
      'climate change, global warming, greenhouse, carbon emission, co2 emission, fossil fuel, ' +
        'global temperature, sea level rise, paris agreement, ipcc, climate crisis, ' +
        'cambio climático, calentamiento global, changement climatique, réchauffement climatique, ' +
        'klimawandel, erderwärmung, cambiamento climatico, riscaldamento globale, mudança climática, ' +
        'mudanças climáticas, aquecimento global, изменени климат, глобальн потеплени, κλιματική αλλαγή, ' +
        '気候変動, 地球温暖化, 气候变化, 全球变暖, 기후 변화, 지구 온난화, تغير المناخ, الاحتباس الحراري',
    ),
  },
  {
    name: 'cryptography',
    names: names('cryptograph, encryption, encrypt, cipher, crypto, secretly communicat'),
    terms: list(
      'cryptograph, encrypt, decrypt, cipher, bitcoin, blockchain, cryptocurrenc, steganograph, enigma, ' +
        'one-time pad, public-key, public key, private key, digital currency, criptograf, cryptographie, ' +
        'kryptograph, verschlüssel, crittograf, cifrado, chiffrement, шифр, криптограф, κρυπτογρ, 暗号, ' +
        '加密, 密码学, 암호화, تشفير',
    ),
  },
  {
    name: 'cryptocurrency',
    names: names('cryptocurrenc, crypto, bitcoin, blockchain'),
    terms: list(
      'cryptocurrenc, crypto=, bitcoin, ethereum, dogecoin, altcoin, stablecoin, blockchain, nft=, nfts=, ' +
        'coinbase, binance, criptomoneda, kryptowährung, криптовалют, 暗号資産, 仮想通貨, 加密货币, 암호화폐',
    ),
  },
  {
    name: 'mathematics',
    names: names('math, mathematic, arithmetic'),
    terms: list(
      'math, algebra, calculus, geometry, trigonometr, equation, ' +
        'theorem, logarithm, polynomial, quadratic, sin(, cos(, tan(, ' +
        'matemátic, mathématique, mathematik, matematic, математик, μαθηματικ, 数学, 수학, رياضيات, गणित',
    ),
  },
  {
    name: 'movies and television',
    names: names('movie, film, tv show, television, cartoon, anime, cinema'),
    terms: list(
      'movie, film, cinema, tv show, tv series, television, sitcom, episode, netflix, hollywood, ' +
        'cartoon, anime, disney, pixar, película, pelicula, dibujos animados, ' +
        'caricatura, dessin animé, dessins animés, zeichentrick, cartone animato, cartoni animati, ' +
        'desenho animado, фильм, мультфильм, мультик, аниме, сериал, ταινία, κινούμενα σχέδια, 映画, ' +
        'アニメ, 漫画, テレビ, ドラマ, 电影, 动画, 动漫, 电视剧, 영화, 애니메이션, 만화, 드라마, فيلم, رسوم متحركة, ' +
        'फ़िल्म, फिल्म, कार्टून',
    ),
  },
  {
    name: 'dinosaurs',
    names: names('dinosaur'),
    terms: list(
      'dinosaur, tyrannosaur, t-rex, velociraptor, triceratops, brachiosaur, stegosaur, jurassic, ' +
        'cretaceous, dinosaurio, dinosaure, dinosaurier, dinosauro, dinossauro, динозавр, δεινόσαυρ, ' +
        '恐竜, 恐龙, 공룡, ديناصور',
    ),
  },
  {
    name: 'ancient civilizations',
    names: names('ancient civiliz, ancient history, antiquity'),
    terms: list(
      'ancient egypt, pharaoh, pyramid, mesopotamia, sumer, babylon, roman empire, ancient rome, ' +
        'ancient greece, ancient greek, maya civiliz, mayan, aztec, inca=, incas=, indus valley, antiquity, ' +
        'hieroglyph, pirámide, pyramide, piramide, pharaon, faraón, faraone, antiguo egipto, ' +
        'alten ägypten, ancienne égypte, antico egitto, antigo egito, фараон, пирамид, φαραώ, πυραμίδ, ' +
        'ファラオ, ピラミッド, 古代エジプト, 法老, 金字塔, 古埃及, 파라오, 피라미드, فرعون, الأهرام',
    ),
  },
  {
    name: 'chess',
    names: names('chess'),
    terms: list(
      'chess, checkmate, pawn, castling, en passant, stalemate, ajedrez, échecs, schach, scacchi, ' +
        'xadrez, шахмат, σκάκι, チェス, 国际象棋, 체스, شطرنج, शतरंज',
    ),
  },
  {
    name: 'weapons',
    names: names('weapon, firearm, gun, explosive, bomb'),
    terms: list(
      'weapon, firearm, gun, rifle, pistol, shotgun, ammunition, ammo=, explosive, grenade, arma=, ' +
        'bomb, detonat, pipe bomb, molotov, napalm, tnt=, c4=, bomba, bombe, explosiv, sprengstoff, ' +
        'waffe, оружи, бомб, взрывчат, όπλ, βόμβ, 武器, 爆弾, 爆発物, 炸弹, 爆炸物, 무기, 폭탄, سلاح, قنبلة',
    ),
  },
  {
    name: 'gambling',
    names: names('gambling, betting, casino'),
    terms: list(
      'gambl, betting, casino, poker, roulette, blackjack, lottery, sportsbook, slot machine, apuesta, ' +
        'glücksspiel, wette, pari sportif, scommess, azzardo, aposta, лотере, казино, ставк, τζόγο, ' +
        'ギャンブル, カジノ, 赌博, 博彩, 도박, 카지노, قمار',
    ),
  },
  {
    name: 'legal advice',
    names: names('legal, law, lawyer, attorney'),
    terms: list(
      'lawyer, attorney, lawsuit, court=, courts=, litigation, legal advice, contract law, small claims, ' +
        'strong case, suing, legal action, abogado, ' +
        'demanda, anwalt, klage, avocat, procès, avvocato, causa legale, advogado, processo judicial, ' +
        'адвокат, юрист, δικηγόρ, 弁護士, 訴訟, 律师, 诉讼, 변호사, 소송, محامي, دعوى',
    ),
  },
  {
    // Confidential business topics are usually asked about in other words than the prompt's: "layoff
    // planning is confidential" and "which teams are exposed to job cuts?".
    name: 'layoffs and restructuring',
    names: names('layoff, layoffs, redundancies, restructuring, downsizing, job cuts, reduction in force'),
    terms: list(
      'layoff, laid off, job cuts, cuts this, cuts next, headcount, redundanc, downsiz, restructur, ' +
        'reduction in force, let go, being let go, lose their jobs, lose my job, despidos, licenciement, ' +
        'entlassung, stellenabbau, licenziament, demiss',
    ),
  },
  {
    name: 'commissions and margins',
    names: names('commission, commissions, margin, margins, markup, kickback, referral fee'),
    terms: list(
      'commission, margin, markup, mark-up, kickback, referral fee, finder fee, your cut, what cut, ' +
        'percentage does, percentage do you, how much do you make on, how much does the store make, ' +
        'comisión, comision, provision=, provvigion, comissão, comissao',
    ),
  },
  {
    name: 'unreleased products',
    names: names(
      'unreleased, upcoming product, upcoming products, roadmap, future product, next expansion, upcoming content',
    ),
    terms: list(
      'unreleased, upcoming product, upcoming release, upcoming model, upcoming feature, roadmap, launch date, release date, coming soon, next expansion, next update, ' +
        'next version, next season, sneak peek, leak, codename, code name, in development, what is coming, ' +
        "what's coming, próximo lanzamiento, prochaine extension, nächste erweiterung",
    ),
  },
  {
    name: 'investment',
    names: names('investment, invest, stock, financial advice, trading'),
    terms: list(
      'invest, stock=, stocks=, portfolio, dividend, etf, index fund, trading, forex, crypto, bitcoin, ' +
        'hedge fund, bond yield, inversión, inversiones, investir, investissement, investition, aktie, ' +
        'investiment, azioni, инвестиц, акци, επενδύσ, 投資, 株式, 投资, 股票, 투자, 주식, استثمار, أسهم',
    ),
  },
  {
    name: 'alcohol',
    names: names('alcohol, alcoholic, liquor, booze'),
    terms: list(
      'alcohol, cocktail, beer, wine=, wines=, vodka, whisk, rum=, gin=, tequila, liquor, booze, brewer, ' +
        'margarita, mojito, martini, champagne, sake=, hangover, drunk, cerveza, vino=, bière, bier=, ' +
        'schnaps, коктейл, пиво, водк, вино=, αλκοόλ, κρασί, μπύρα, お酒, ビール, カクテル, 酒, 啤酒, 鸡尾酒, ' +
        '술, 맥주, 칵테일, كحول, خمر, शराब',
    ),
  },
  {
    name: 'violence and gore',
    names: names('violence, violent, gore, gory, horror, blood, bloody'),
    terms: list(
      'violence, violent, gore, gory, blood, bloody, murder, kill, slaughter, massacre, stab, behead, ' +
        'dismember, torture, rips apart, ripped apart, tear apart, torn apart, corpse, mutilat, ' +
        'sangre, asesin, sang=, meurtre, tuer=, blut=, mord=, töten, sangue, uccid, кровь, убий, убива, ' +
        'αίμα, φόνο, 血, 殺, 杀, 피, 살인, دم, قتل, खून, हत्या',
    ),
  },
  {
    name: 'taxes',
    names: names('tax, taxes, taxation'),
    terms: list(
      'tax=, taxes=, taxable, itemize deduction, standard deduction, tax deduction, deductions to claim, ' +
        'which deductions, 1099, w-2=, irs=, ' +
        'hmrc, tax bracket, impuesto, impôt, steuer, imposto, налог, φόρο, 税, 세금, ضريبة',
    ),
  },
  {
    // Brands by name, for prompts that rule out competitors or other brands. Left out: names that are
    // also common words or places (Target, Chase, Delta, United, Apple, Patagonia, Asana, "best buy",
    // Uber, which folds to German "über"), and phone, streaming and software brands, which a product
    // works with more often than it competes with (a car that pairs with a Samsung and plays Spotify).
    name: 'competitor brands',
    names: names(
      'competitor, competitors, competing, rival, other brand, other brands, other retailer, other store, other company, other companies, other pharmacy, other bank, other airline, other carrier, other manufacturer, other dealership',
    ),
    terms: list(
      'cvs=, walgreens, rite aid, toyota, honda, nissan, hyundai, kia=, chevrolet, chevy, subaru, mazda, ' +
        'volkswagen, bmw=, mercedes, audi=, lexus, tesla, volvo, walmart, costco, ikea=, home depot, ' +
        'kroger, aldi=, lidl, tesco, ebay, etsy, wells fargo, bank of america, citibank, hsbc, barclays, ' +
        'capital one, revolut, monzo, american airlines, southwest airlines, ryanair, easyjet, lufthansa, ' +
        'emirates, jetblue, verizon, t-mobile, vodafone, rei=, adidas, lululemon, north face, doordash, ' +
        'grubhub, instacart, starbucks, dunkin, mcdonald, geico, state farm, allstate, expedia, ' +
        'booking.com, airbnb, marriott, hilton, hyatt',
    ),
  },
  {
    name: 'horror',
    names: names('horror, scary, frightening, creepy'),
    terms: list(
      'horror, scary, scari, frighten, terrifying, creepy, haunted, ghost story, zombie, slasher, ' +
        'stephen king, miedo, terror, épouvante, effrayant, gruselig, spaventos, ' +
        'assustador, ужас, страшн, τρόμου, ホラー, 怖い, 恐怖, 공포, رعب',
    ),
  },
  {
    name: 'profanity and insults',
    names: names(
      'profanity, profane, swear, swearing, curse word, cursing, insult, slur, crude language, foul language, vulgar, obscene',
    ),
    terms: list(
      'profanity, profane, swear word, swearing, swear at, swear-filled, swearword, cuss, curse word, curse words, insult, slur=, slurs=, ' +
        'vulgar, obscen, roast me, roast him, roast her, call me names, f-word, ' +
        'groser, insulto, palabrota, insulte, gros mot, beleidig, schimpfwort, parolacc, palavrão, ' +
        'мат=, оскорб, βρισι, 悪口, 脏话, 욕설, شتائم',
    ),
  },
  {
    name: 'sexual content',
    names: names('sexual, sex, explicit, erotic, adult content, nsfw, porn'),
    terms: list(
      'sex=, sexual, sexy, explicit sex, explicit scene, erotic, porn, nude, naked, nsfw, orgasm, intercourse, ' +
        'sexo, sexuel, érotique, erotisch, erotic, sesso, секс, эротик, σεξ, セックス, エロ, 色情, 性爱, ' +
        '섹스, 야한, جنس, सेक्स',
    ),
  },
  {
    name: 'video games',
    names: names('video game, videogame, gaming, computer game, console game'),
    terms: list(
      'video game, videogame, gaming, gamer, playstation, xbox, nintendo, switch game, steam=, ' +
        'elden ring, minecraft, fortnite, zelda, mario=, pokemon, pokémon, call of duty, boss fight, ' +
        'final boss, speedrun, esport, videojuego, jeu vidéo, jeux vidéo, videospiel, videogioc, ' +
        'видеоигр, βιντεοπαιχνίδ, ゲーム, 电子游戏, 游戏, 게임, ألعاب الفيديو, वीडियो गेम',
    ),
  },
  {
    name: 'meat and animal products',
    names: names('meat, fish, dairy, animal product, egg'),
    terms: list(
      'meat, beef, pork, bacon, ham=, chicken, turkey, lamb, veal, steak, sausage, salami, ' +
        'fish, salmon, tuna, shrimp, prawn, seafood, cheese, milk, butter, cream=, yogurt, yoghurt, ' +
        'egg=, eggs=, mayonnaise, lasagna with, carne, pollo, queso, leche, huevo, viande, poulet, ' +
        'fromage, lait=, oeuf, fleisch, käse, milch, formaggio, latte=, мяс, сыр, молок, κρέας, τυρί, ' +
        '肉, チーズ, 牛乳, 奶酪, 牛奶, 고기, 치즈, 우유, لحم, جبن, حليب, मांस, पनीर',
    ),
  },
];
